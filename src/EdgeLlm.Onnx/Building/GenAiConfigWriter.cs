using System.Text.Json;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;

namespace EdgeLlm.Onnx.Building;

/// <summary>Writes the genai_config.json that tells ONNX Runtime GenAI how to drive the graph of <see cref="LlamaGraphBuilder"/>.</summary>
internal static class GenAiConfigWriter
{
    public static void Write(string path, LlamaShape shape, SpecialTokenIds special, string modelFile)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("model");
        json.WriteString("type", "llama");
        if (special.Bos is int bos)
        {
            json.WriteNumber("bos_token_id", bos);
        }

        json.WriteStartArray("eos_token_id");
        foreach (int eos in special.Eos)
        {
            json.WriteNumberValue(eos);
        }

        json.WriteEndArray();
        json.WriteNumber("pad_token_id", special.Pad);
        json.WriteNumber("context_length", shape.ContextLength);
        json.WriteNumber("vocab_size", shape.VocabSize);

        json.WriteStartObject("decoder");
        json.WriteString("filename", modelFile);
        json.WriteNumber("hidden_size", shape.Dim);
        json.WriteNumber("head_size", shape.HeadSize);
        json.WriteNumber("num_attention_heads", shape.Heads);
        json.WriteNumber("num_key_value_heads", shape.KvHeads);
        json.WriteNumber("num_hidden_layers", shape.Layers);
        json.WriteStartObject("session_options");
        json.WriteString("log_id", "edgellm");
        json.WriteStartArray("provider_options");
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartObject("inputs");
        json.WriteString("input_ids", LlamaGraphBuilder.InputIds);
        json.WriteString("attention_mask", LlamaGraphBuilder.AttentionMask);
        json.WriteString("position_ids", LlamaGraphBuilder.PositionIds);
        json.WriteString("past_key_names", LlamaGraphBuilder.PastKeyFormat);
        json.WriteString("past_value_names", LlamaGraphBuilder.PastValueFormat);
        json.WriteEndObject();
        json.WriteStartObject("outputs");
        json.WriteString("logits", LlamaGraphBuilder.Logits);
        json.WriteString("present_key_names", LlamaGraphBuilder.PresentKeyFormat);
        json.WriteString("present_value_names", LlamaGraphBuilder.PresentValueFormat);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();

        json.WriteStartObject("search");
        json.WriteBoolean("do_sample", false);
        json.WriteNumber("max_length", shape.ContextLength);
        json.WriteNumber("min_length", 0);
        json.WriteNumber("num_beams", 1);
        json.WriteNumber("num_return_sequences", 1);
        json.WriteBoolean("past_present_share_buffer", true);
        json.WriteNumber("repetition_penalty", 1.0);
        json.WriteNumber("temperature", 1.0);
        json.WriteNumber("top_k", 1);
        json.WriteNumber("top_p", 1.0);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
