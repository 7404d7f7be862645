"""placeholder: the registry package is being written."""
