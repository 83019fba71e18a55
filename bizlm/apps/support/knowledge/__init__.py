"""The support desk's knowledge base: the company's documents in a project's ``docs/`` folder,
split into passages and searched like the FAQ (BM25 and sentence vectors, fused by rank).

- :mod:`.documents` reads a file into sections (Markdown, HTML, plain text, PDF);
- :mod:`.passages` splits sections into passages and merges exact duplicates;
- :mod:`.search` holds the searchable :class:`~.search.KnowledgeBase`;
- :mod:`.store` writes and reads the index folder (``build/knowledge/``);
- :mod:`.indexer` (re)indexes ``docs/``, re-reading only new or changed files.
"""
