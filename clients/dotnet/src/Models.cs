// Request and response shapes of the Loopai HTTP API. Every answer keeps the fields this version of the client
// does not know in Extra, so nothing the server sends is lost.

using System.Collections.Generic;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Loopai
{
    /// <summary>Fields of an answer that have no property here (the server may add some later).</summary>
    public abstract class ApiObject
    {
        [JsonExtensionData]
        public IDictionary<string, JToken> Extra { get; set; }
    }

    /// <summary>The answer of <c>POST /loop-apps/{id}/execute</c>, with the output as <typeparamref name="TOutput"/>.</summary>
    public class ExecuteResult<TOutput> : ApiObject
    {
        [JsonProperty("execution_id")] public string ExecutionId { get; set; }
        [JsonProperty("loop_app_id")] public string LoopAppId { get; set; }
        /// <summary>The version that answered (<c>v1</c>, …).</summary>
        [JsonProperty("version")] public string Version { get; set; }
        /// <summary>What the program answered; it satisfies the app's output schema.</summary>
        [JsonProperty("output")] public TOutput Output { get; set; }
        [JsonProperty("confidence")] public double? Confidence { get; set; }
        [JsonProperty("latency_ms")] public double LatencyMs { get; set; }
        /// <summary>Picked to be checked by the oracle.</summary>
        [JsonProperty("sampled")] public bool Sampled { get; set; }
    }

    /// <summary>The answer of execute, with the output as a JSON token: <c>(string)result.Output</c>,
    /// <c>result.Output["category"]</c>, or <c>result.Output.ToObject&lt;T&gt;()</c>.</summary>
    public class ExecuteResult : ExecuteResult<JToken>
    {
    }

    /// <summary>The body of an error answer, and of a batch item that failed.</summary>
    public class ApiError : ApiObject
    {
        [JsonProperty("code")] public string Code { get; set; }
        [JsonProperty("message")] public string Message { get; set; }
        [JsonProperty("details")] public JObject Details { get; set; }
    }

    /// <summary>One item of a batch: an answer as from execute, or <see cref="Error"/> when that input failed.</summary>
    public class BatchItem<TOutput> : ExecuteResult<TOutput>
    {
        [JsonProperty("error")] public ApiError Error { get; set; }

        [JsonIgnore] public bool Succeeded { get { return Error == null; } }
    }

    public class BatchResult<TOutput> : ApiObject
    {
        /// <summary>One per input, in order.</summary>
        [JsonProperty("results")] public List<BatchItem<TOutput>> Results { get; set; }
    }

    public class BatchResult : BatchResult<JToken>
    {
    }

    public class SamplingSettings : ApiObject
    {
        [JsonProperty("rate")] public double Rate { get; set; }
        /// <summary><c>random</c> or <c>uncertainty</c>.</summary>
        [JsonProperty("strategy")] public string Strategy { get; set; }
    }

    /// <summary>A Loop App as the server describes it: its settings plus what it derives from its files.
    /// The settings groups not typed here (<c>validation</c>, <c>improvement</c>, <c>rollout</c>, <c>privacy</c>,
    /// <c>execution</c>) are JSON objects.</summary>
    public class LoopApp : ApiObject
    {
        [JsonProperty("loop_app_id")] public string LoopAppId { get; set; }
        [JsonProperty("name")] public string Name { get; set; }
        [JsonProperty("task")] public string Task { get; set; }
        [JsonProperty("input_schema")] public JObject InputSchema { get; set; }
        [JsonProperty("output_schema")] public JObject OutputSchema { get; set; }
        /// <summary><c>active</c>, <c>paused</c> or <c>archived</c>.</summary>
        [JsonProperty("status")] public string Status { get; set; }
        [JsonProperty("generator")] public string Generator { get; set; }
        [JsonProperty("sampling")] public SamplingSettings Sampling { get; set; }
        [JsonProperty("validation")] public JObject Validation { get; set; }
        [JsonProperty("improvement")] public JObject Improvement { get; set; }
        [JsonProperty("rollout")] public JObject Rollout { get; set; }
        [JsonProperty("privacy")] public JObject Privacy { get; set; }
        [JsonProperty("retention_days")] public int? RetentionDays { get; set; }
        [JsonProperty("execution")] public JObject Execution { get; set; }
        /// <summary>The version the <c>active</c> link points to on disk.</summary>
        [JsonProperty("active_version")] public string ActiveVersion { get; set; }
        /// <summary>The old name of <see cref="ActiveVersion"/>, answered for one more release.</summary>
        [JsonProperty("current_version")] public string CurrentVersion { get; set; }
        /// <summary>The version actually answering (differs while a new one loads, or if it failed to load).</summary>
        [JsonProperty("serving_version")] public string ServingVersion { get; set; }
        /// <summary><c>/loop-apps/{id}/execute</c>.</summary>
        [JsonProperty("endpoint")] public string Endpoint { get; set; }
        /// <summary>Held-out accuracy of the serving version, when it was scored.</summary>
        [JsonProperty("accuracy")] public double? Accuracy { get; set; }
        /// <summary>The serving version's score: accuracy, its 95 % interval, how it was measured, on how many
        /// rows (null when it was not scored).</summary>
        [JsonProperty("score")] public JObject Score { get; set; }
        [JsonProperty("load_error")] public string LoadError { get; set; }
    }

    /// <summary>The answer of <see cref="LoopaiClient.CreateAppAsync"/>: with a program, the app and its first
    /// <see cref="Version"/> (201); with examples only, a generation job (202: <see cref="JobId"/> is set) to pass
    /// to <see cref="LoopaiClient.WaitForJobAsync(string, System.TimeSpan?, System.TimeSpan?, System.Threading.CancellationToken)"/>.</summary>
    public class CreatedLoopApp : LoopApp
    {
        [JsonProperty("version")] public LoopAppVersion Version { get; set; }
        [JsonProperty("job_id")] public string JobId { get; set; }
        [JsonProperty("state")] public string State { get; set; }
        [JsonProperty("job_url")] public string JobUrl { get; set; }

        [JsonIgnore] public bool IsJob { get { return JobId != null; } }
    }

    public class LoopAppList : ApiObject
    {
        [JsonProperty("loop_apps")] public List<LoopApp> LoopApps { get; set; }
        /// <summary>Apps on disk that could not be read, by id, with the reason.</summary>
        [JsonProperty("load_errors")] public Dictionary<string, string> LoadErrors { get; set; }
    }

    public class ExamplesAdded : ApiObject
    {
        [JsonProperty("added")] public int Added { get; set; }
        [JsonProperty("total")] public int Total { get; set; }
    }

    /// <summary>One version of a Loop App's program.</summary>
    public class LoopAppVersion : ApiObject
    {
        [JsonProperty("version")] public string Version { get; set; }
        [JsonProperty("created_at")] public string CreatedAt { get; set; }
        /// <summary><c>learner</c>, <c>llm</c>, <c>upload</c>, …</summary>
        [JsonProperty("generator")] public string Generator { get; set; }
        [JsonProperty("parent")] public string Parent { get; set; }
        [JsonProperty("trained_on")] public int? TrainedOn { get; set; }
        /// <summary>The evaluation: accuracy, n, method, per_class, confusion.</summary>
        [JsonProperty("eval")] public JObject Eval { get; set; }
        /// <summary><c>active</c>, <c>testing</c>, <c>canary</c>, <c>deprecated</c> or <c>rejected</c>.</summary>
        [JsonProperty("status")] public string Status { get; set; }
        [JsonProperty("sha256")] public string Sha256 { get; set; }
        /// <summary>File name → sha256.</summary>
        [JsonProperty("files")] public Dictionary<string, string> Files { get; set; }
        [JsonProperty("notes")] public string Notes { get; set; }
        /// <summary>When and why a person marked it deprecated (null when not deprecated).</summary>
        [JsonProperty("deprecated")] public JObject Deprecated { get; set; }
        /// <summary>On regeneration: the then active version's score on the same held-out rows.</summary>
        [JsonProperty("compared_with")] public JObject ComparedWith { get; set; }
        /// <summary>What a generated version learned from: <c>{examples, held_out}</c>.</summary>
        [JsonProperty("seen")] public JObject Seen { get; set; }
        /// <summary>Each generator's candidate: <c>[{generator, accuracy, error?}]</c>.</summary>
        [JsonProperty("candidates")] public JArray Candidates { get; set; }
    }

    public class VersionList : ApiObject
    {
        /// <summary>Oldest first.</summary>
        [JsonProperty("versions")] public List<LoopAppVersion> Versions { get; set; }
    }

    public class FeedbackResult : ApiObject
    {
        [JsonProperty("execution_id")] public string ExecutionId { get; set; }
        [JsonProperty("version")] public string Version { get; set; }
        [JsonProperty("program_output")] public JToken ProgramOutput { get; set; }
        [JsonProperty("expected_output")] public JToken ExpectedOutput { get; set; }
        [JsonProperty("correct")] public bool Correct { get; set; }
    }

    /// <summary>The 202 answer of a call that started a job.</summary>
    public class JobAccepted : ApiObject
    {
        [JsonProperty("job_id")] public string JobId { get; set; }
        [JsonProperty("loop_app_id")] public string LoopAppId { get; set; }
        /// <summary><c>queued</c>, <c>running</c>, <c>succeeded</c> or <c>failed</c>.</summary>
        [JsonProperty("state")] public string State { get; set; }
        [JsonProperty("job_url")] public string JobUrl { get; set; }
    }

    /// <summary>A generation or improvement job.</summary>
    public class Job : ApiObject
    {
        [JsonProperty("job_id")] public string JobId { get; set; }
        /// <summary><c>create</c> or <c>improve</c>.</summary>
        [JsonProperty("type")] public string Type { get; set; }
        [JsonProperty("loop_app_id")] public string LoopAppId { get; set; }
        /// <summary><c>queued</c>, <c>running</c>, <c>succeeded</c> or <c>failed</c>.</summary>
        [JsonProperty("state")] public string State { get; set; }
        [JsonProperty("progress")] public List<string> Progress { get; set; }
        /// <summary>Set once the job has succeeded: version, activated, generator, eval, decision, …</summary>
        [JsonProperty("result")] public JObject Result { get; set; }
        /// <summary>Set once the job has failed.</summary>
        [JsonProperty("error")] public string Error { get; set; }
        [JsonProperty("created_at")] public string CreatedAt { get; set; }
        [JsonProperty("updated_at")] public string UpdatedAt { get; set; }
    }

    public class JobList : ApiObject
    {
        /// <summary>Newest first.</summary>
        [JsonProperty("jobs")] public List<Job> Jobs { get; set; }
    }
}
