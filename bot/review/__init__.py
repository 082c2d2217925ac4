"""Pull-request reviews: engine results as inline comments with suggested changes."""
