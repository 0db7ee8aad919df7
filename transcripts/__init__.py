"""The transcript domain: source transcripts in, saved debates out."""
