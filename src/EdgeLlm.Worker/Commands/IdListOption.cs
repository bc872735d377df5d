using System.CommandLine;
using System.Globalization;

namespace EdgeLlm.Worker.Commands;

/// <summary>An option that takes token ids as one comma-separated value, e.g. "1,403,407".</summary>
internal static class IdListOption
{
    public static Option<int[]> Create(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "1,2,3",
        CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(',', result.Tokens.Select(t => t.Value));
            var ids = new List<int>();
            foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                {
                    result.AddError($"{name} takes comma-separated non-negative integers; '{part}' is not one");
                    return [];
                }

                ids.Add(id);
            }

            return [.. ids];
        },
    };
}
