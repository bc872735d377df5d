using Microsoft.Extensions.Logging;

namespace EdgeLlm.Mqtt;

/// <summary>Every log message of EdgeLlm.Mqtt, with its event id (30xx the connection, 31xx the embedded broker, 32xx the front door, 33xx escalation, 34xx commands, 35xx advertisements): one table, so that no id is used twice.</summary>
internal static partial class Log
{
    [LoggerMessage(3001, LogLevel.Information, "Connected to {Endpoint} (session kept: {SessionPresent})")]
    public static partial void ConnectedToBroker(ILogger logger, string endpoint, bool sessionPresent);

    [LoggerMessage(3002, LogLevel.Warning, "Cannot connect to {Endpoint}: {Problem}; retrying in about {DelaySeconds} s")]
    public static partial void ConnectFailed(ILogger logger, string endpoint, string problem, double delaySeconds);

    [LoggerMessage(3003, LogLevel.Warning, "Disconnected from {Endpoint} ({Reason}) {Problem}; reconnecting")]
    public static partial void Disconnected(ILogger logger, string endpoint, string reason, string problem);

    [LoggerMessage(3004, LogLevel.Error, "A message to {Topic} was not sent: the connection is closed")]
    public static partial void DroppedAfterClose(ILogger logger, string topic);

    [LoggerMessage(3005, LogLevel.Error, "{Count} messages were still unsent when the connection closed")]
    public static partial void UnsentAtClose(ILogger logger, int count);

    [LoggerMessage(3006, LogLevel.Warning, "The broker granted {Filter} QoS {Granted}, not {Asked}: messages on it may be lost")]
    public static partial void Downgraded(ILogger logger, string filter, int asked, int granted);

    [LoggerMessage(3007, LogLevel.Error, "After reconnecting, the broker refused the subscription to {Filter} ({Reason}): nothing arrives on it until the node restarts")]
    public static partial void RestoreRefused(ILogger logger, string filter, string reason);

    [LoggerMessage(3101, LogLevel.Information, "Embedded MQTT broker listening on {Address} port {Port}")]
    public static partial void BrokerStarted(ILogger logger, string address, int port);

    [LoggerMessage(3102, LogLevel.Information, "A message on {Topic} for {ClientId} expired in the broker ({ExpirySeconds} s) and was dropped")]
    public static partial void MessageExpired(ILogger logger, string topic, string clientId, uint expirySeconds);

    [LoggerMessage(3103, LogLevel.Warning, "The embedded broker refused client {ClientId} (user '{User}'): no such user, or the wrong password")]
    public static partial void LoginRefused(ILogger logger, string clientId, string user);

    [LoggerMessage(3201, LogLevel.Information, "Listening for requests on {Filters}")]
    public static partial void Listening(ILogger logger, string filters);

    [LoggerMessage(3202, LogLevel.Error, "A request on {Topic} could not be handled")]
    public static partial void HandlingFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(3203, LogLevel.Warning, "The broker has no shared subscriptions, so {Shared} became {Plain}: every node of this tier on this broker hears every escalated request (give each its own broker, or use one with shared subscriptions such as Mosquitto)")]
    public static partial void NoSharedSubscriptions(ILogger logger, string shared, string plain);

    [LoggerMessage(3301, LogLevel.Debug, "An answer on {Topic} matches no escalation awaiting one (late or repeated): dropped")]
    public static partial void UnmatchedAnswer(ILogger logger, string topic);

    [LoggerMessage(3302, LogLevel.Warning, "An answer on {Topic} is not an answer envelope")]
    public static partial void NotAnEnvelope(ILogger logger, string topic);

    [LoggerMessage(3401, LogLevel.Information, "Taking model commands on {Topic}")]
    public static partial void TakingCommands(ILogger logger, string topic);

    [LoggerMessage(3402, LogLevel.Information, "Command {Command} {Model}: {Result}")]
    public static partial void CommandDone(ILogger logger, string command, string model, string result);

    [LoggerMessage(3403, LogLevel.Warning, "Command {Command} {Model} refused: {Reason}")]
    public static partial void CommandRefused(ILogger logger, string command, string model, string reason);

    [LoggerMessage(3404, LogLevel.Error, "Command {Command} {Model} failed")]
    public static partial void CommandFailed(ILogger logger, Exception exception, string command, string model);

    [LoggerMessage(3405, LogLevel.Warning, "A command on {Topic} asks for its reply on {ResponseTopic}, which {Problem}: dropped unanswered")]
    public static partial void CommandReplyRefused(ILogger logger, string topic, string responseTopic, string problem);

    [LoggerMessage(3501, LogLevel.Warning, "The status on {Topic} is not an advertisement, ignored: {Problem}")]
    public static partial void BadAdvertisement(ILogger logger, string topic, string problem);

    [LoggerMessage(3502, LogLevel.Information, "Node {Node} (tier {Tier}) is {State}, serving: {Models}")]
    public static partial void NodeHeard(ILogger logger, string node, int tier, string state, string models);

    [LoggerMessage(3601, LogLevel.Warning, "The message on {Topic} is not a cancel, ignored: {Problem}")]
    public static partial void NotACancel(ILogger logger, string topic, string problem);

    [LoggerMessage(3602, LogLevel.Warning, "A chunk on {Topic} is not one, dropped: {Problem}")]
    public static partial void NotAChunk(ILogger logger, string topic, string problem);

    [LoggerMessage(3701, LogLevel.Error, "The fleet page sees no node: {Problem}")]
    public static partial void FleetUnwatched(ILogger logger, string problem);
}
