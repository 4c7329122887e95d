"""The city's 中間サーバー and 団体内統合宛名 function (番号法19条8号): the 副本 of 住民票関係情報, the 符号, and the
answers to the 情報提供ネットワークシステム (docs/intermediate-server.md)."""
