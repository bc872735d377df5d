using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Tests;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Onnx.Tests.Engine;

public sealed class LocalChatClientTests(Stories260kModels models) : IClassFixture<Stories260kModels>, IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task GetResponse_CompletionModel_ContinuesTheUserText()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        using var client = new LocalChatClient(model, TimeProvider.System);

        var response = await client.GetResponseAsync("Once upon a time", new ChatOptions { MaxOutputTokens = 20 });

        var expected = model.Generate(model.Encode("Once upon a time"), new GenerationSettings { MaxNewTokens = 20 });
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal((5, 20), (response.Usage?.InputTokenCount, response.Usage?.OutputTokenCount));
        Assert.Equal("stories260k-int8", response.ModelId);
    }

    [Fact]
    public async Task GetStreamingResponse_UpdatesAddUpToTheResponse()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        using var client = new LocalChatClient(model, TimeProvider.System);
        var updates = new List<ChatResponseUpdate>();

        await foreach (var update in client.GetStreamingResponseAsync("Lily", new ChatOptions { MaxOutputTokens = 15 }))
        {
            updates.Add(update);
        }

        Assert.Equal(15, updates.Count(u => u.Text.Length > 0));
        Assert.Equal(0.0, updates[0].AdditionalProperties?[EngineProperties.PrefillProgress]);
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        Assert.Equal((await client.GetResponseAsync("Lily", new ChatOptions { MaxOutputTokens = 15 })).Text, string.Concat(updates.Select(u => u.Text)));
    }

    [Fact]
    public async Task GetResponse_ConcurrentCallers_TakeTurnsAndGetWholeAnswers()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        using var client = new LocalChatClient(model, TimeProvider.System);
        string expected = model.Generate(model.Encode("The dog"), new GenerationSettings { MaxNewTokens = 30 }).Text;

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => client.GetResponseAsync("The dog", new ChatOptions { MaxOutputTokens = 30 })));

        Assert.All(responses, r => Assert.Equal(expected, r.Text));
    }

    [Fact]
    public async Task GetStreamingResponse_Cancelled_ThrowsAndFreesTheModel()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        using var client = new LocalChatClient(model, TimeProvider.System);
        using var cancellation = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("Once", new ChatOptions { MaxOutputTokens = 200 }, cancellation.Token))
            {
                await cancellation.CancelAsync();
            }
        });

        var next = await client.GetResponseAsync("Once", new ChatOptions { MaxOutputTokens = 3 });
        Assert.Equal(3, next.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponse_AbandonedEarly_FreesTheModel()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        using var client = new LocalChatClient(model, TimeProvider.System);

        await foreach (var update in client.GetStreamingResponseAsync("Once", new ChatOptions { MaxOutputTokens = 400 }))
        {
            break;
        }

        var next = await client.GetResponseAsync("Once", new ChatOptions { MaxOutputTokens = 3 }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(3, next.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task GetResponse_PastTheDeadline_FinishesWithDeadline()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        var time = new FakeTimeProvider { AutoAdvanceAmount = TimeSpan.FromMilliseconds(10) };
        using var client = new LocalChatClient(model, time);
        var options = new ChatOptions { MaxOutputTokens = 100, AdditionalProperties = new() { [ChatDeadline.Property] = time.GetUtcNow().AddMilliseconds(50) } };

        var response = await client.GetResponseAsync("Once", options);

        Assert.Equal(ChatDeadline.FinishReason, response.FinishReason);
        Assert.InRange(response.Usage?.OutputTokenCount ?? 0, 1, 10);
    }

    [Fact]
    public async Task GetResponse_ModelWithChatTemplate_FormatsTheMessagesWithIt()
    {
        string folder = _temp.CopyFolder(models.Folder(Quantization.Int8), "templated");

        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """
            { "add_bos_token": true, "tokenizer_class": "LlamaTokenizer",
              "chat_template": "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}" }
            """);
        using var model = LocalModel.Load(folder);
        using var client = new LocalChatClient(model, TimeProvider.System);

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Tell a story")], new ChatOptions { MaxOutputTokens = 10, Instructions = "Be kind" });

        string formatted = "system: Be kind\nuser: Tell a story\nassistant:";
        Assert.Equal(model.Generate(model.Encode(formatted), new GenerationSettings { MaxNewTokens = 10 }).Text, response.Text);
        Assert.Equal(model.Encode(formatted).Count, response.Usage?.InputTokenCount);
    }

    [Fact]
    public void GetService_ExposesMetadataAndTheModel()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int4));
        using var client = new LocalChatClient(model, TimeProvider.System);

        Assert.Equal("stories260k-int4", client.GetService<ChatClientMetadata>()?.DefaultModelId);
        Assert.Same(model, client.GetService<LocalModel>());
        Assert.Null(client.GetService<LocalModel>("some key"));
    }

    [Fact]
    public async Task GetResponse_AChatLongerThanTheContext_LeavesOutTheOldestDroppableExchanges()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        using var client = new LocalChatClient(model, TimeProvider.System);
        string story = "Once upon a time there was a little girl named Lily who liked to play in the park with her friends every day.";
        var chat = Enumerable.Range(0, 12).SelectMany(i => new[] { new ChatMessage(ChatRole.User, $"{i}: {story}"), new ChatMessage(ChatRole.Assistant, story) })
            .Append(new ChatMessage(ChatRole.User, "The end")).ToList();
        var options = new ChatOptions { MaxOutputTokens = 32, AdditionalProperties = new() { [EngineProperties.DroppableMessages] = 24 } };

        var updates = await client.GetStreamingResponseAsync(chat, options).ToListAsync();

        int dropped = (int)updates[^1].AdditionalProperties![EngineProperties.DroppedMessages]!;
        var usage = updates.ToChatResponse().Usage!;
        Assert.True(dropped is > 0 and < 24 && dropped % 2 == 0, $"dropped {dropped} of 24 droppable messages");
        Assert.InRange(usage.InputTokenCount!.Value, 1, model.Config.ContextLength - 32);
        Assert.Equal(32, usage.OutputTokenCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetResponse_ATurnAfterAnother_ReusesTheCache_AndSaysHowMuch(bool chatTemplate)
    {
        string folder = models.Folder(Quantization.Int8);
        if (chatTemplate)
        {
            folder = _temp.CopyFolder(folder, "templated");
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """
                { "add_bos_token": true, "tokenizer_class": "LlamaTokenizer",
                  "chat_template": "{% for message in messages %}<{{ message['role'] }}> {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}" }
                """);
        }

        using var model = LocalModel.Load(folder, cacheSlots: 1);
        using var client = new LocalChatClient(model, TimeProvider.System);
        var first = new ChatMessage(ChatRole.User, "Lily went to the park");
        var options = new ChatOptions { MaxOutputTokens = 12 };

        var one = await client.GetResponseAsync([first], options);
        var two = await client.GetResponseAsync([first, new ChatMessage(ChatRole.Assistant, one.Text), new ChatMessage(ChatRole.User, "Then she saw a dog")], options);

        Assert.Equal(0, one.Usage?.CachedInputTokenCount);
        Assert.InRange(two.Usage!.CachedInputTokenCount!.Value, 5, two.Usage.InputTokenCount!.Value - 1);
    }

    public void Dispose() => _temp.Dispose();
}
