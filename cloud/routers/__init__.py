"""One router per domain; each route names its permission through `require(...)`."""
