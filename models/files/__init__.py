"""File formats: directive files, the unit and actor registers, and reading text files safely."""
