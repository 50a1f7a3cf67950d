"""BPR-MF: matrix factorisation with item biases trained on BPR-OPT (Rendle et al., UAI 2009)."""

from tfrec.models.vbpr import BIAS_REGULARIZATION, FACTOR_REGULARIZATION, VBPR
from tfrec.utils.serialization import register_serializable


@register_serializable
class BPRMF(VBPR):
    """BPR matrix factorisation: `VBPR` without the visual term.

    x_ui = beta_i + gamma_u . gamma_i (alpha and beta_u cancel in BPR differences). All scoring,
    training and regularisation code is `VBPR`'s with ``feature_dim = num_visual_factors = 0``.

    Args:
        num_users: int. Number of users U.
        num_items: int. Number of items I.
        num_factors: int. Latent dimension K. Default 20.
        factor_regularization: float. L2 weight on gamma_u, gamma_i. Default 3e-3 (chosen on
            validation AUC, see `tfrec.models.vbpr.FACTOR_REGULARIZATION`).
        bias_regularization: float. L2 weight on beta_i. Default 3e-3.
        initializer_stddev: float. Std-dev of the factors' normal initialiser. Default 0.01.
        **kwargs: passed to `keras.Model`.

    Call arguments, returns: as `VBPR`.

    Raises:
        ValueError: if a size is < 1.

    References:
        - [Rendle et al., 2009](https://arxiv.org/abs/1205.2618). BPR: Bayesian Personalized
          Ranking from Implicit Feedback. UAI.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        num_factors: int = 20,
        factor_regularization: float = FACTOR_REGULARIZATION,
        bias_regularization: float = BIAS_REGULARIZATION,
        initializer_stddev: float = 0.01,
        **kwargs,
    ):
        kwargs.pop("feature_dim", None)
        kwargs.pop("num_visual_factors", None)
        kwargs.pop("visual_regularization", None)
        super().__init__(
            num_users,
            num_items,
            feature_dim=0,
            num_factors=num_factors,
            num_visual_factors=0,
            factor_regularization=factor_regularization,
            bias_regularization=bias_regularization,
            visual_regularization=0.0,
            initializer_stddev=initializer_stddev,
            **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        for key in ("feature_dim", "num_visual_factors", "visual_regularization"):
            config.pop(key)
        return config
