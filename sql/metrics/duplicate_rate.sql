-- name: duplicate_rate
-- description: share of assets that have a near or exact duplicate, per method
-- params: none
WITH total AS (SELECT count(*) AS assets FROM assets)
SELECT method, count(DISTINCT asset_id) AS assets_with_duplicate,
       count(DISTINCT asset_id) * 1.0 / max(total.assets) AS duplicate_rate
FROM duplicates CROSS JOIN total
GROUP BY method
