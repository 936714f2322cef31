"""scikit-learn estimators trained by chainrule: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for ``sklearn.neural_network``'s MLPs (same parameters, fitted
attributes and behaviour; they pass scikit-learn's estimator checks), so a chainrule
network fits in a ``Pipeline``, ``GridSearchCV`` or ``cross_val_score``::

    from chainrule.sklearn import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), MLPClassifier(max_iter=300, random_state=0))
    model.fit(X_train, y_train).score(X_test, y_test)

Needs scikit-learn: ``pip install "chainrule[datasets]"``. See docs/sklearn.md.
"""

try:
    import sklearn as _sklearn  # only to fail early with the install hint
except ImportError as error:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError(
        'chainrule.sklearn needs scikit-learn: pip install "chainrule[datasets]"'
    ) from error

from chainrule.sklearn.classifier import MLPClassifier
from chainrule.sklearn.regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
