"""Certificates (住民票の写し等): who may have which items printed, and the pages they are printed on.

Pure rules, no I/O (住基法第12条・第12条の2・第12条の3, 標準仕様書 j1000–j1070):
- 世帯主・続柄, 本籍・筆頭者, 住民票コード and 個人番号 are left out unless asked for (`include`); 住民票コード and
  個人番号 only for the person or their own household (`self`, `household_member`), never for an agent, a third party
  or a public body (`forbidden`);
- a foreign resident's items (第30条の45) are printed unless left out one by one (`omit`); the 方書 is always
  printed (j1030) except when a 記載事項証明書 leaves it out;
- history (異動履歴) is printed only when asked for, and never the entries of a 特別養子縁組 or a 性別変更 (j40);
- until the planned date of a move-out the person is still present (現存者, j50): a 住民票の写し prints them
  without the items the 転出届 recorded (j1000), and there is no 除票 yet;
- the household layout (世帯連記式) takes up to four persons a page; the 認証文 goes on the last page only; every
  page carries the 発行番号 and "page x of y" (j1000, j1040).

`layout()` turns the chosen records into `CertificateDocument`, the page layout as data; adapters/pdf.py draws it.

The parts: `request` (what can be asked for, and the request's rules), `persons` (the records on a certificate and
whether they fit), `document` (the page layout as data), `rows` (what one person's rows print), `pages` (persons
packed onto pages). Their public names are imported here, where the services, the UI and the PDF adapter use them.
"""

from juki.domain.certificates.document import (
    PERSONS_PER_PAGE,
    PROBLEMS,
    ROWS_PER_PAGE,
    STATEMENT_ROWS,
    Block,
    Cell,
    CertificateDocument,
    Issuer,
    Overflow,
    Page,
    Row,
)
from juki.domain.certificates.pages import layout, paginate, printed_items, statement
from juki.domain.certificates.persons import (
    AliasEntry,
    HistoryEntry,
    Subject,
    alias_entries,
    check_requester,
    check_subjects,
    fee,
    is_present,
    visible_history,
)
from juki.domain.certificates.request import (
    ALIAS_HISTORY,
    ENTRY_ITEMS,
    FOREIGN_ITEMS,
    HIDDEN_HISTORY,
    INCLUDE,
    KINDS,
    LAYOUTS,
    MAX_COPIES,
    MAX_PERSONS,
    NUMBERS,
    OMITTABLE,
    OWN_HOUSEHOLD,
    REQUESTER_NAMES,
    REQUESTER_TYPES,
    CertificateRequest,
    Kind,
    Requester,
    check_items,
    parse_request,
    parse_requester,
)

__all__ = [
    "ALIAS_HISTORY",
    "ENTRY_ITEMS",
    "FOREIGN_ITEMS",
    "HIDDEN_HISTORY",
    "INCLUDE",
    "KINDS",
    "LAYOUTS",
    "MAX_COPIES",
    "MAX_PERSONS",
    "NUMBERS",
    "OMITTABLE",
    "OWN_HOUSEHOLD",
    "PERSONS_PER_PAGE",
    "PROBLEMS",
    "REQUESTER_NAMES",
    "REQUESTER_TYPES",
    "ROWS_PER_PAGE",
    "STATEMENT_ROWS",
    "AliasEntry",
    "Block",
    "Cell",
    "CertificateDocument",
    "CertificateRequest",
    "HistoryEntry",
    "Issuer",
    "Kind",
    "Overflow",
    "Page",
    "Requester",
    "Row",
    "Subject",
    "alias_entries",
    "check_items",
    "check_requester",
    "check_subjects",
    "fee",
    "is_present",
    "layout",
    "paginate",
    "parse_request",
    "parse_requester",
    "printed_items",
    "statement",
    "visible_history",
]
