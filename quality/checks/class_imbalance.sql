-- name: class_imbalance
-- description: categories with max_ratio times fewer annotations than the largest category
-- params: max_ratio
WITH per_category AS (
    SELECT category, count(*) AS annotations FROM annotations GROUP BY category
), largest AS (
    SELECT max(annotations) AS top FROM per_category
)
SELECT per_category.category, per_category.annotations, largest.top
FROM per_category CROSS JOIN largest
WHERE per_category.annotations * {{ max_ratio }} < largest.top
