"""Data loading: file readers, column selection, splits and the dataset catalog."""

from bizlm.data.catalog import CatalogEntry, dataset_info, fetch, get_entry, list_catalog
from bizlm.data.columns import LabelledRows, select_columns
from bizlm.data.readers import Table, read_table, write_table
from bizlm.data.splits import find_overlap, stratified_split, unseen_labels

__all__ = [
    "CatalogEntry",
    "LabelledRows",
    "Table",
    "dataset_info",
    "fetch",
    "find_overlap",
    "get_entry",
    "list_catalog",
    "read_table",
    "select_columns",
    "stratified_split",
    "unseen_labels",
    "write_table",
]
