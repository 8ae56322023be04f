"""The notice renderer as it was before the speed work (commit 938bc78), frozen: its
templates, HTML→PDF renderer and signer, for bench/notices.py to time beside today's
in the same process. Not used by the app; do not import it from shopper."""
