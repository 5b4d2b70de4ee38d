"""One analysis per question (issue #11): a function of ``(store, profile, settings)`` returning
one typed result that the page renders, the CLI prints and the PDF / Excel are built from.
No streamlit here."""
