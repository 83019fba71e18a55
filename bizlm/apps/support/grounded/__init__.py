"""Generated answers grounded in the knowledge base, with citations.

- :mod:`.settings` holds the ``knowledge:`` section of ``support.yaml``;
- :mod:`.prompt` turns a message and the retrieved passages into chat messages;
- :mod:`.citations` maps the reply's ``[n]`` markers to passages;
- :mod:`.support` scores how well each reply sentence is backed by its passages and tunes the
  threshold on validation;
- :mod:`.answerer` retrieves, generates, checks and decides whether to hand off;
- :mod:`.loader` opens the configured generate bundle and the project's knowledge index.
"""
