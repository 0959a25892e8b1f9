-- name: assets_by_format
-- description: stored assets per media type with sizes and resolutions (metadata only)
-- params: none
SELECT media_type, kind, count(*) AS assets, sum(byte_size) AS bytes,
       min(width) AS min_width, max(width) AS max_width,
       min(height) AS min_height, max(height) AS max_height
FROM assets
GROUP BY media_type, kind
ORDER BY assets DESC
