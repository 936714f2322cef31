"""What MLPClassifier and MLPRegressor share: parameters, fitting, convergence, inference.

The control flow is scikit-learn's ``BaseMultilayerPerceptron`` step for step (same
validation, same initialisation and shuffling from the same ``random_state`` stream,
same convergence rule and warnings); the forward and backward passes and the parameter
updates run on chainrule.
"""

from __future__ import annotations

import warnings
from itertools import pairwise
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, gen_batches, shuffle
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight

import chainrule
from chainrule.sklearn import _network
from chainrule.sklearn._lbfgs import fit_lbfgs
from chainrule.sklearn._optim import StochasticOptimizer

STOCHASTIC_SOLVERS = ("sgd", "adam")


class BaseMLP(BaseEstimator):
    """Base class of the chainrule MLP estimators (use MLPClassifier or MLPRegressor)."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
    }

    # set by the subclasses' __init__ (scikit-learn needs the parameters spelled out there)
    hidden_layer_sizes: Any
    activation: str
    solver: str
    alpha: float
    batch_size: Any
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    random_state: Any
    tol: float
    verbose: Any
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: Any
    max_fun: int

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[Any, np.ndarray]:
        raise NotImplementedError

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        raise NotImplementedError

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        raise NotImplementedError

    # ------------------------------------------------------------------ inference
    def _forward_pass_fast(self, X: Any, check_input: bool = True) -> np.ndarray:
        """The output layer's activations for X (scikit-learn's name for it)."""
        if check_input:
            X = self._validate_data_compat(X, accept_sparse=["csr", "csc"], reset=False)
        args = (self.coefs_, self.intercepts_, self.activation, self.out_activation_)
        if not hasattr(X, "toarray"):
            return _network.forward(*args, X)
        chunks = [_network.forward(*args, X[s].toarray()) for s in gen_batches(X.shape[0], 4096)]
        return np.concatenate(chunks) if chunks else _network.forward(*args, X.toarray())

    def _validate_data_compat(self, X: Any, y: Any = "no_validation", **kwargs: Any) -> Any:
        try:
            from sklearn.utils.validation import validate_data
        except ImportError:  # pragma: no cover - scikit-learn < 1.6
            return self._validate_data(X, y, **kwargs)
        return validate_data(self, X, y, **kwargs)

    def _score_with_function(
        self, X: Any, y: Any, sample_weight: Any, score_function: Any
    ) -> float:
        """Score without input validation (which would drop the feature names)."""
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return float(score_function(y, y_pred, sample_weight=sample_weight))

    def to_module(self) -> chainrule.nn.Sequential:
        """The fitted network as a chainrule ``nn.Sequential`` (copies of the weights).

        It outputs logits: apply softmax / sigmoid (per ``out_activation_``) for
        probabilities, as :meth:`predict_proba` does.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        coefs = [c.copy() for c in self.coefs_]
        intercepts = [b.copy() for b in self.intercepts_]
        return _network.build_network(coefs, intercepts, self.activation)

    # ------------------------------------------------------------------ fitting
    def _fit(self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False) -> BaseMLP:
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden_layer_sizes}.")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        n_features = X.shape[1]
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [n_features, *hidden_layer_sizes, self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)

        network = getattr(self, "_network", None)
        if network is None or not _network.fits(network, self.coefs_, self.activation):
            network = self._network = _network.build_network(
                self.coefs_, self.intercepts_, self.activation
            )
            self.__dict__.pop("_optimizer", None)  # its parameters were the old network's
        else:
            _network.bind(network, self.coefs_, self.intercepts_)

        if self.solver in STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, y, sample_weight, incremental)
        else:
            self.n_iter_, self.loss_ = fit_lbfgs(self, network, X, y, sample_weight)

        if not all(np.isfinite(w).all() for w in [*self.coefs_, *self.intercepts_]):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        return self

    def _initialize(self, y: np.ndarray, layer_units: list[int], dtype: np.dtype) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = "exp" if getattr(self, "loss", None) == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:  # binary and multi-label
            self.out_activation_ = "logistic"

        # Glorot-uniform, drawn in scikit-learn's order from its random_state stream
        self.coefs_: list[np.ndarray] = []
        self.intercepts_: list[np.ndarray] = []
        factor = 2.0 if self.activation == "logistic" else 6.0
        for fan_in, fan_out in pairwise(layer_units):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = self._random_state.uniform(-bound, bound, fan_out)
            self.coefs_.append(coef.astype(dtype, copy=False))
            self.intercepts_.append(intercept.astype(dtype, copy=False))
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]

        if self.solver in STOCHASTIC_SOLVERS:
            self.loss_curve_: list[float] = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_: list[float] | None = []
                self.best_validation_score_: float | None = -np.inf
                self.best_loss_: float | None = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _fit_stochastic(
        self, X: Any, y: np.ndarray, sample_weight: np.ndarray | None, incremental: bool
    ) -> None:
        if not incremental or not hasattr(self, "_optimizer"):
            weights, biases = _network.parameters(self._network)
            self._optimizer = StochasticOptimizer(weights, biases, self, self.solver)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")

        early_stopping = self.early_stopping
        if early_stopping:
            # don't stratify in multilabel classification
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
            split = train_test_split(
                *arrays,
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            X_train, X_val, y_train, y_val = split[:4]
            sw_train, sw_val = (None, None) if sample_weight is None else split[4:]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, sw_train = X, y, sample_weight
            X_val = y_val = sw_val = None

        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going "
                    "to be clipped",
                    stacklevel=3,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        out_activation = self.out_activation_
        target = _network.loss_target(out_activation, y_train, X_train.dtype)
        sparse = hasattr(X_train, "toarray")
        sample_idx = np.arange(n_samples, dtype=int)
        network, optimizer = self._network, self._optimizer
        alpha = float(self.alpha)
        coefs = self.coefs_
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:  # the same draws as scikit-learn's, from the same stream
                    sample_idx = shuffle(sample_idx, random_state=self._random_state)
                    X_epoch, t_epoch = X_train[sample_idx], target[sample_idx]
                    sw_epoch = None if sw_train is None else sw_train[sample_idx]
                else:
                    X_epoch, t_epoch, sw_epoch = X_train, target, sw_train
                accumulated_loss = 0.0
                for batch in gen_batches(n_samples, batch_size):
                    X_batch = X_epoch[batch].toarray() if sparse else X_epoch[batch]
                    t_batch = t_epoch[batch]
                    size = batch.stop - batch.start
                    sw_batch = None if sw_epoch is None else sw_epoch[batch]
                    sw_sum = float(size) if sw_batch is None else float(sw_batch.sum())

                    optimizer.zero_grad()
                    z = network(chainrule.from_numpy(X_batch))
                    loss, value = _network.batch_loss(out_activation, z, t_batch, sw_batch, sw_sum)
                    loss.backward()
                    batch_loss = value + _network.penalty(coefs, alpha, sw_sum)
                    accumulated_loss += batch_loss * size
                    optimizer.step(weight_decay=alpha / sw_sum)

                self.n_iter_ += 1
                self.loss_ = accumulated_loss / X_train.shape[0]
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

                self._update_no_improvement_count(early_stopping, X_val, y_val, sw_val)
                optimizer.iteration_ends(self.t_)

                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if early_stopping else "Training loss"
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for "
                        f"{self.n_iter_no_change} consecutive epochs."
                    )
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=3,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)

        if early_stopping:  # restore the best weights
            self.coefs_ = self._best_coefs
            self.intercepts_ = self._best_intercepts

    def _update_no_improvement_count(
        self, early_stopping: bool, X: Any, y: Any, sample_weight: Any
    ) -> None:
        if early_stopping:
            val_score = self._score(X, y, sample_weight=sample_weight)
            assert self.validation_scores_ is not None
            assert self.best_validation_score_ is not None
            self.validation_scores_.append(val_score)
            if self.verbose:
                print(f"Validation score: {val_score:f}")
            if val_score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if val_score > self.best_validation_score_:
                self.best_validation_score_ = val_score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [i.copy() for i in self.intercepts_]
        else:
            assert self.best_loss_ is not None
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _check_solver(self) -> bool:
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic."
            )
        return True

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
