"""Entry point of the ``change-risk`` pyfunc (see :class:`riskft_pipeline.tracking.pyfunc.ChangeRiskModel`)."""

from mlflow.models import set_model

from riskft_pipeline.tracking.pyfunc import ChangeRiskModel

set_model(ChangeRiskModel())
