using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// The conversations a node keeps for requesters that name one (docs/design.md §3a): each request gets the
/// kept turns before its own, and its answer is kept as the next turn. Bounded: at most Conversations:Max
/// (the one idle longest goes first), none idle past Conversations:IdleMinutes, and the oldest turns dropped
/// when the chat would pass the prompt limit or the engine's context (the answer says how many).
/// </summary>
internal sealed class ConversationStore(ConversationsOptions options, int maxPromptBytes, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Kept> _kept = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _kept.Count;
            }
        }
    }

    /// <summary>
    /// The request with its conversation's kept turns before its own messages, and where it stands; the request
    /// itself (and null) when it names no conversation.
    /// </summary>
    public (Request Request, ConversationTurn? Turn) Open(Request request)
    {
        if (request.Conversation is not string id)
        {
            return (request, null);
        }

        lock (_lock)
        {
            ForgetIdle();
            bool isNew = !_kept.TryGetValue(id, out var kept);
            kept ??= new Kept();
            // The prompt limit holds for the whole chat: the oldest exchanges go first.
            while (kept.Messages.Count > 0 && Expand(request, kept).ContentBytes > maxPromptBytes)
            {
                kept.DropOldestExchange();
            }

            return (Expand(request, kept), new ConversationTurn(id, kept.Exchanges + 1, isNew, kept.DroppedExchanges));
        }
    }

    /// <summary>
    /// Keeps the exchange that <paramref name="reply"/> completes (an answer, here or from upstream; a failure
    /// keeps nothing, so that the requester may ask again) and returns the reply with the conversation's turn.
    /// </summary>
    public Reply Record(Request original, ConversationTurn turn, Reply reply)
    {
        string? text = reply switch
        {
            Answer answer => answer.Text,
            Relayed relayed => ReplyFormatter.TextOf(relayed),
            _ => null,
        };
        if (text is null)
        {
            return reply;
        }

        lock (_lock)
        {
            if (!_kept.TryGetValue(turn.Id, out var kept))
            {
                if (options.Max == 0)
                {
                    return reply with { Conversation = turn };
                }

                while (_kept.Count >= options.Max)
                {
                    _kept.Remove(_kept.MinBy(k => k.Value.LastUsed).Key);
                }

                _kept[turn.Id] = kept = new Kept();
            }

            // What the engine left out to fit its context is gone for good (the oldest kept messages).
            int dropped = reply is Answer { DroppedMessages: > 0 } cut ? kept.DropOldestMessages(cut.DroppedMessages) : 0;
            kept.Messages.AddRange(original.Turns);
            kept.Messages.Add(new ChatTurn(ChatTurn.Assistant, text));
            kept.System = original.System ?? kept.System;
            kept.Exchanges++;
            kept.LastUsed = time.GetUtcNow();
            return reply with { Conversation = turn with { DroppedTurns = turn.DroppedTurns + dropped } };
        }
    }

    // The kept turns first (the conversation's system text unless the request brings its own), then the request's.
    private static Request Expand(Request request, Kept kept) => request with
    {
        Messages = [.. kept.Messages, .. request.Messages],
        KeptMessages = kept.Messages.Count,
        System = request.System ?? kept.System,
    };

    private void ForgetIdle()
    {
        var oldest = time.GetUtcNow() - TimeSpan.FromMinutes(options.IdleMinutes);
        foreach (string idle in _kept.Where(k => k.Value.LastUsed < oldest).Select(k => k.Key).ToArray())
        {
            _kept.Remove(idle);
        }
    }

    private sealed class Kept
    {
        public List<ChatTurn> Messages { get; } = [];

        public string? System { get; set; }

        public int Exchanges { get; set; }

        public int DroppedExchanges { get; private set; }

        public DateTimeOffset LastUsed { get; set; }

        public void DropOldestExchange() => DropOldestMessages(1);

        /// <summary>Drops at least <paramref name="count"/> messages, up to the next user turn (whole exchanges); the exchanges dropped.</summary>
        public int DropOldestMessages(int count)
        {
            int end = Math.Min(count, Messages.Count);
            while (end < Messages.Count && Messages[end].Role != ChatTurn.User)
            {
                end++;
            }

            int exchanges = Messages.Take(end).Count(m => m.Role == ChatTurn.User);
            Messages.RemoveRange(0, end);
            DroppedExchanges += exchanges;
            return exchanges;
        }
    }
}
