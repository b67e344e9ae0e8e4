"""Image loading, preprocessing, image folders and label files."""
