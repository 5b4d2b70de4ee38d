"""The one Streamlit layer of the package: the shared frame and small widgets."""
