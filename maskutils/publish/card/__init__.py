"""reports/model_card.html: a model card (Mitchell et al. 2019) of the studied model, every number
read from the metrics and params files and tagged with its source (`source`); the sections' data
come from `about`, `data`, `analyses` and `ethics` (`layout`: a missing file or key makes a gap,
not an error), the page from `page`, and templates/card/ lays them out."""

from maskutils.publish.card.page import write_card

__all__ = ["write_card"]
