"""Entry point of the ``ticket-extractor`` pyfunc (see :class:`riskft_pipeline.tracking.pyfunc.TicketExtractorModel`)."""

from mlflow.models import set_model

from riskft_pipeline.tracking.pyfunc import TicketExtractorModel

set_model(TicketExtractorModel())
