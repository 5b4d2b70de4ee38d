"""Start the app: ``python -m piggyback.ui.server [streamlit options]`` runs ``streamlit run app.py``
in this process, told from the start that app.py lays out its own pages.

Why not plain ``streamlit run app.py``: until a process's first ``st.navigation`` call, Streamlit 1.67
treats a ``pages/`` folder as the old automatic multipage layout, so the very first visit a fresh
server gets through a page link (``/timeline?agency=…``, a link a colleague sent) is answered
with a "Page not found" dialog before app.py's own navigation takes over. Saying so before the
first session removes that dialog. The flag is Streamlit's own (``PagesManager``); the test
``test_deep_link_on_a_fresh_server_opens_without_page_not_found`` fails if an upgrade changes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


def main(argv: list[str] | None = None) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False  # app.py calls st.navigation: no automatic pages/ menu
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
