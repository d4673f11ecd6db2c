"""reports/model_card.html: a model card (Mitchell et al. 2019) of the studied model, every number
read from the metrics and params files and tagged with its source (`source`), laid out by
`layout`; the sections live in `about`, `data`, `analyses` and `ethics`, the page in `page`."""

from maskutils.publish.card.page import write_card

__all__ = ["write_card"]
