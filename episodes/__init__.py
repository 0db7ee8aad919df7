"""Debates out: saved debates (store), their pages (export), the episode outline a
producer works from, outlines merged from several debates, and a debate's quality
figures (evaluate). What a model writes for them comes from `agents`, handed over by
`graphs`."""
