-- name: split_leakage_near
-- description: near-duplicate pairs whose two assets sit in different splits
-- params: none
WITH splits AS (
    SELECT DISTINCT asset_id, split FROM annotations WHERE split IS NOT NULL
)
SELECT d.asset_id, d.duplicate_of, d.distance, a.split AS split, b.split AS other_split
FROM duplicates d
JOIN splits a ON d.asset_id = a.asset_id
JOIN splits b ON d.duplicate_of = b.asset_id
WHERE a.split <> b.split
