"""archivist: git-native governance for ML artifacts tracked with DVC."""

__version__ = "0.1.0"
