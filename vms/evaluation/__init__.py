"""Evaluating loaned cameras: police.uk crime around a site, before, during and after."""
