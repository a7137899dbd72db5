// Number formats for the grids, the same as the charts' and KPI cards':
// money in K/M/B with the currency, quantities, percentages, changes.
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

function compact(value, digits) {
  var size = Math.abs(value);
  var units = [[1e9, "B"], [1e6, "M"], [1e3, "K"]];
  for (var i = 0; i < units.length; i++) {
    if (size >= units[i][0]) {
      var scaled = size / units[i][0];
      return (value < 0 ? "-" : "") + scaled.toFixed(scaled < 10 ? 2 : 1) + units[i][1];
    }
  }
  return (value < 0 ? "-" : "") + size.toLocaleString("en-US", {maximumFractionDigits: digits});
}

dagfuncs.Money = function (value, currency) {
  if (value === null || value === undefined) return "–";
  var text = compact(value, 0);
  return text.charAt(0) === "-" ? "-" + currency + text.slice(1) : currency + text;
};
dagfuncs.Price = function (value, currency) {
  if (value === null || value === undefined) return "–";
  return currency + value.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
};
dagfuncs.Quantity = function (value) {
  if (value === null || value === undefined) return "–";
  return Math.round(value).toLocaleString("en-US");
};
dagfuncs.Percent = function (value) {
  if (value === null || value === undefined) return "–";
  return (value * 100).toFixed(1) + "%";
};
dagfuncs.SignedPercent = function (value) {
  if (value === null || value === undefined) return "–";
  return (value >= 0 ? "+" : "") + (value * 100).toFixed(1) + "%";
};
dagfuncs.Points = function (value) {
  if (value === null || value === undefined) return "–";
  return (value >= 0 ? "+" : "") + (value * 100).toFixed(1) + " pts";
};
