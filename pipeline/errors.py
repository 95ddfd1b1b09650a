"""Errors about models that a user can act on; each message says what to do."""


class ModelMissingError(RuntimeError):
    """A trained pipeline, or a trained part of one, is not there."""


class ModelVersionError(RuntimeError):
    """A saved model was made with other versions (vnreport, scikit-learn) than the ones installed."""
