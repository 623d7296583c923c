// Prints what .NET does for the string operations Stream Analytics exposes, as JSON, so the TypeScript engine can
// be checked against the runtime Stream Analytics is built on (it runs on .NET). Regenerate with:
//   dotnet run --project scripts/dotnet-string-reference > test/local/streamAnalytics/dotnet-string-reference.json
// Only facts about .NET itself are recorded here; which .NET call a Stream Analytics function uses is stated (and
// sourced or marked as inferred) in local/streamAnalytics/dotnetText.ts and the *Functions.ts modules; the test that
// compares against this file is test/local/streamAnalytics/dotnetText.test.ts.
using System.Globalization;
using System.Text.Json;

static List<int[]> CaseMap(Func<string, string> map)
{
    // Every code point whose mapping changes it, as [codePoint, mapped...] (mapped as UTF-16 code units).
    var changes = new List<int[]>();
    for (var cp = 0; cp <= 0x10FFFF; cp++)
    {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        var s = char.ConvertFromUtf32(cp);
        var m = map(s);
        if (m != s)
        {
            var row = new List<int> { cp };
            foreach (var c in m) row.Add(c);
            changes.Add(row.ToArray());
        }
    }
    return changes;
}

var samples = new[] { "straße", "ﬁ", "İ", "ı", "ǅ", "ΟΔΟΣ", "Σ", "ŉ", "𐐀", "𐐨", "Ǆ", "ǰ", "Ÿ", "ẞ", "i", "I" };
var whiteSpace = new List<int>();
for (var c = 0; c <= 0xFFFF; c++) if (char.IsWhiteSpace((char)c)) whiteSpace.Add(c);

var roundInputs = new (double value, int digits)[]
{
    (0.5, 0), (-0.5, 0), (1.5, 0), (2.5, 0), (123.9995, 3), (2.675, 2), (1.005, 2), (-2.675, 2), (123.4545, 2),
    (0.125, 2), (0.375, 2), (1234.5678, 4), (1e16 + 1, 0), (5.0E-324, 3), (-1.5, 0), (0.285, 2),
};
var doubles = new[] { 1e17, 1.5e17, 12345678901234567.0, 0.0001, 0.00001, 0.000123, -1e-5, 0.1, 1.5, 100.0, 1e21, 1e-7, 123456789012345680000.0, 1.0 / 3, -0.0, 1e15, 1e16, 1.7976931348623157E+308, 5e-324, 2.5e-5 };

var result = new Dictionary<string, object>
{
    ["generator"] = "scripts/dotnet-string-reference (dotnet run)",
    ["dotnet"] = Environment.Version.ToString(),
    ["unicodeNote"] = "ToUpperInvariant/ToLowerInvariant over every code point; whiteSpace = char.IsWhiteSpace over every UTF-16 code unit",
    ["upperInvariant"] = CaseMap(s => s.ToUpperInvariant()),
    ["lowerInvariant"] = CaseMap(s => s.ToLowerInvariant()),
    ["whiteSpace"] = whiteSpace,
    ["samples"] = samples.Select(s => new Dictionary<string, object>
    {
        ["input"] = s,
        ["upper"] = s.ToUpperInvariant(),
        ["lower"] = s.ToLowerInvariant(),
        ["length"] = s.Length,
    }).ToList(),
    ["roundAwayFromZero"] = roundInputs.Select(r => new object[] { r.value, r.digits,
        Math.Round(r.value, r.digits, MidpointRounding.AwayFromZero) }).ToList(),
    ["doubleToString"] = doubles.Select(d => new object[] { d, d.ToString(CultureInfo.InvariantCulture) }).ToList(),
    ["dateTimeRoundTrip"] = new[] { "2026-11-22T06:00:30.1234567Z", "2026-11-22T06:00:30Z" }
        .Select(s => new object[] { s, DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal).ToString("o", CultureInfo.InvariantCulture) }).ToList(),
};
Console.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = false }));
