"""A fuzz run of the vendor's OpenAPI files against a live server (docs/testing.md, "Fuzzing")."""
