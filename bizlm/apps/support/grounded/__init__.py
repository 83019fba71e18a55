"""Generated answers grounded in the knowledge base, with citations.

- :mod:`.settings` holds the ``knowledge:`` section of ``support.yaml``;
- :mod:`.prompt` turns a message and the retrieved passages into chat messages;
- :mod:`.citations` maps the reply's ``[n]`` markers to passages;
- :mod:`.support` scores how well each reply sentence is backed by its passages and tunes the
  threshold on validation;
- :mod:`.sentence_buffer` hands out the sentences of a reply being written, once complete;
- :mod:`.rerank` re-orders retrieved passages with a pair score bundle;
- :mod:`.answerer` retrieves, generates, checks each sentence as it is written and decides
  whether to hand off;
- :mod:`.loader` opens the configured generate bundle and the project's knowledge index;
- :mod:`.questions` reads the questions about the documents, with reference answers;
- :mod:`.tuning` tunes the support threshold on the validation questions' replies, and
  :mod:`.project_tuning` does it for a project (``bizlm app support tune-grounding``).
"""
