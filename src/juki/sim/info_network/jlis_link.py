"""J-LIS's link to the 情報提供ネットワークシステム: once J-LIS has turned a city's 個人番号 into the 住民票コード
(the 符号取得 through the 住基ネット, 番号法施行令20条), it asks the network to issue the person's 符号 for the
city's serial (`POST /network/v1/link-codes`, juki.intermediate.wire). The simulated 住基ネット's J-LIS calls
`issue_link_code`; it presents `jlis.pem` (CN "J-LIS") from the PKI folder `info-network.json` names.

No 個人番号 crosses this link, and no message here quotes the 住民票コード.
"""

from __future__ import annotations

from pathlib import Path

from juki.intermediate.adapters.network_client import NetworkConfig, call, json_object
from juki.intermediate.wire import LINK_CODES_PATH, NetworkUnreachable

REFUSALS = {404: "unknown_serial", 409: "serial_reused", 422: "invalid_field"}


class Refused(Exception):
    """The network refused to issue the 符号: `code` is the wire's (unknown_serial, serial_reused,
    invalid_field); `message` the network's words (naming no value)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def issue_link_code(
    config_path: Path, serial: str, city_code: str, resident_code: str, *, timeout: float = 10.0
) -> bool:
    """Ask the network for the person's 符号 for the city's `serial`: True when the network had it already (a
    repeat), False when it queued it for the city's inbox now. `Refused` when the network refuses (unknown or
    reused serial); `NetworkUnreachable` when there is no usable answer (down, TLS refused, another shape)."""
    try:
        config = NetworkConfig.read(config_path)
    except ValueError as exc:
        raise NetworkUnreachable(str(exc)) from None
    body = {"serial": serial, "city_code": city_code, "resident_code": resident_code}
    with config.http("jlis", timeout=timeout) as http:
        res = call(http, "POST", LINK_CODES_PATH, json=body)
    if res.status_code in REFUSALS:
        answer = json_object(res)
        code, message = answer.get("code"), answer.get("message")
        if code != REFUSALS[res.status_code] or not isinstance(message, str):
            raise NetworkUnreachable(f"the network's refusal ({res.status_code}) is not one the wire knows")
        raise Refused(code, message[:500])
    if res.status_code != 200:
        raise NetworkUnreachable(f"the network answered {res.status_code}")
    answer = json_object(res)
    duplicate = answer.get("duplicate")
    if answer.get("serial") != serial or not isinstance(duplicate, bool):
        raise NetworkUnreachable("the network's acknowledgement does not match the serial")
    return duplicate


__all__ = ["Refused", "issue_link_code"]
