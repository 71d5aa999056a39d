"""A generated corpus of broken and hostile container images (see ``make_corpus``)."""
