"""Processing jobs: modules run in child processes against the live scene, and batches on Dask."""
