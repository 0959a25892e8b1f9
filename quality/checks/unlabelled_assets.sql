-- name: unlabelled_assets
-- description: assets without any annotation (training would see them unlabelled)
-- params: none
SELECT a.asset_id, a.source_uri
FROM assets a
LEFT JOIN annotations n ON a.asset_id = n.asset_id
WHERE n.asset_id IS NULL
