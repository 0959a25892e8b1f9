-- name: split_leakage
-- description: assets labelled in more than one split (train/val/test leakage)
-- params: none
SELECT asset_id, count(DISTINCT split) AS splits
FROM annotations
WHERE split IS NOT NULL
GROUP BY asset_id
HAVING count(DISTINCT split) > 1
