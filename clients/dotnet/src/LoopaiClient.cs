// LoopaiClient: every endpoint of the Loopai HTTP API as an async method.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Loopai
{
    /// <summary>How a <see cref="LoopaiClient"/> reaches its server; every setting has a default.</summary>
    public class LoopaiClientOptions
    {
        /// <summary>The server; default: environment variable <c>LOOPAI_URL</c> (comma-separated for several),
        /// then <c>http://127.0.0.1:8080</c>.</summary>
        public string BaseUrl { get; set; }

        /// <summary>Several servers (a cloud's edges, say), in order of preference: a call fails over to the next on
        /// a connection failure or a 503. Wins over <see cref="BaseUrl"/>.</summary>
        public IList<string> BaseUrls { get; set; }

        /// <summary>Sent as <c>Authorization: Bearer &lt;key&gt;</c>; default: environment variable
        /// <c>LOOPAI_API_KEY</c>. An empty string sends no key.</summary>
        public string ApiKey { get; set; }

        /// <summary>How long to wait for each attempt's whole answer; default 10 s.</summary>
        public TimeSpan? Timeout { get; set; }

        /// <summary>Retries after 429, 503 and connection failures (and any 5xx of a GET); default 3.</summary>
        public int? MaxRetries { get; set; }

        /// <summary>The handler under the client's <see cref="HttpClient"/> (a proxy, a test double…); default
        /// the platform's. The client does not dispose a handler given here.</summary>
        public HttpMessageHandler Handler { get; set; }
    }

    /// <summary>
    /// A client for one Loopai server, optionally bound to one Loop App.
    /// <code>
    /// var result = await new LoopaiClient("spam-detector-001").ExecuteAsync(new { text = "You won a FREE cruise" });
    /// Console.WriteLine(result.Output); // spam
    /// </code>
    /// Methods that concern one Loop App use the app the client is bound to; <see cref="ForApp"/> gives a client
    /// for another. Every method returns the server's answer and throws a <see cref="LoopaiException"/> subclass on
    /// failure. Instances are thread-safe; keep one for many calls (it holds an <see cref="HttpClient"/>).
    /// </summary>
    public sealed class LoopaiClient : IDisposable
    {
        /// <summary>The client's version, as in its package and its User-Agent.</summary>
        public const string ClientVersion = "0.1.0";

        public const string DefaultBaseUrl = "http://127.0.0.1:8080";

        internal const string UserAgent = "loopai-dotnet/" + ClientVersion;

        private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

        private readonly Transport _transport;
        private readonly bool _ownsTransport;

        public LoopaiClient() : this(null, (LoopaiClientOptions)null) { }

        public LoopaiClient(string appId) : this(appId, (LoopaiClientOptions)null) { }

        public LoopaiClient(LoopaiClientOptions options) : this(null, options) { }

        public LoopaiClient(string appId, LoopaiClientOptions options)
        {
            if (appId != null && appId.Length == 0) throw new ArgumentException("appId must not be empty", "appId");
            options = options ?? new LoopaiClientOptions();
            var given = options.BaseUrls != null
                ? options.BaseUrls.ToArray()
                : (options.BaseUrl ?? Env("LOOPAI_URL") ?? DefaultBaseUrl).Split(',');
            if (given.Length == 0) throw new ArgumentException("BaseUrls must name at least one server", "options");
            var baseUrls = given.Select(url => (url ?? "").Trim().TrimEnd('/')).ToArray();
            foreach (var baseUrl in baseUrls)
            {
                Uri parsed;
                if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out parsed) ||
                    (parsed.Scheme != "http" && parsed.Scheme != "https") || string.IsNullOrEmpty(parsed.Host))
                {
                    throw new ArgumentException("BaseUrl must be an http:// or https:// URL, got \"" + baseUrl + "\"", "options");
                }
            }
            var timeout = options.Timeout ?? DefaultTimeout;
            var maxRetries = options.MaxRetries ?? 3;
            if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException("options", "Timeout must be more than 0");
            if (maxRetries < 0) throw new ArgumentOutOfRangeException("options", "MaxRetries must be 0 or more");
            AppId = appId;
            _transport = new Transport(baseUrls, options.ApiKey ?? Env("LOOPAI_API_KEY") ?? "", timeout, maxRetries,
                options.Handler, false);
            _ownsTransport = true;
        }

        private LoopaiClient(string appId, Transport transport)
        {
            AppId = appId;
            _transport = transport;
            _ownsTransport = false;
        }

        /// <summary>The Loop App this client is bound to, or null.</summary>
        public string AppId { get; private set; }

        /// <summary>The server this client talks to (without a trailing slash).</summary>
        public string BaseUrl { get { return _transport.BaseUrl; } }

        /// <summary>A client with the same server, key, settings and connections, bound to <paramref name="appId"/>.
        /// It shares this client's <see cref="HttpClient"/>: disposing it does nothing, disposing this one ends both.</summary>
        public LoopaiClient ForApp(string appId)
        {
            if (string.IsNullOrEmpty(appId)) throw new ArgumentException("appId must not be empty", "appId");
            return new LoopaiClient(appId, _transport);
        }

        public void Dispose()
        {
            if (_ownsTransport) _transport.Dispose();
        }

        public override string ToString() // never shows the key
        {
            return "LoopaiClient(AppId=" + (AppId ?? "null") + ", BaseUrl=" + BaseUrl + ")";
        }

        // --- executing ------------------------------------------------------------------------------------------

        /// <summary>Runs the app's active program on one input (an anonymous object, a dictionary, a POCO or a
        /// JToken); sent as <c>{"input": input}</c>. The output comes as a JSON token.</summary>
        public Task<ExecuteResult> ExecuteAsync(object input, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<ExecuteResult>("POST", "/execute", new JObject { { "input", Json.From(input) } }, null,
                options, cancellationToken);
        }

        /// <summary>Runs the app's active program on one input, with the output read as <typeparamref name="TOutput"/>
        /// (a string for an enum of labels, a class for an object output).</summary>
        public Task<ExecuteResult<TOutput>> ExecuteAsync<TOutput>(object input, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<ExecuteResult<TOutput>>("POST", "/execute", new JObject { { "input", Json.From(input) } },
                null, options, cancellationToken);
        }

        /// <summary>Up to 1000 inputs in one call; <c>Results</c> in order, a failed item with its <c>Error</c>.</summary>
        public Task<BatchResult> ExecuteBatchAsync(IEnumerable<object> inputs, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<BatchResult>("POST", "/execute/batch", new JObject { { "inputs", Array(inputs, "inputs") } },
                null, options, cancellationToken);
        }

        public Task<BatchResult<TOutput>> ExecuteBatchAsync<TOutput>(IEnumerable<object> inputs,
            RequestOptions options = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<BatchResult<TOutput>>("POST", "/execute/batch",
                new JObject { { "inputs", Array(inputs, "inputs") } }, null, options, cancellationToken);
        }

        // --- Loop Apps ------------------------------------------------------------------------------------------

        /// <summary>Every Loop App on the server, and the ones that failed to load.</summary>
        public Task<LoopAppList> ListAppsAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return Call<LoopAppList>("GET", "/loop-apps", null, null, options, cancellationToken);
        }

        /// <summary>The bound app's settings and state.</summary>
        public Task<LoopApp> GetAppAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopApp>("GET", "", null, null, options, cancellationToken);
        }

        /// <summary>
        /// Creates a Loop App from <paramref name="spec"/> (<c>loop_app_id</c>, <c>task</c>, <c>input_schema</c>,
        /// <c>output_schema</c>, and <c>examples</c> or <c>program</c>); <c>loop_app_id</c> defaults to the bound app.
        /// With a program the answer is the app and its first version (201); with examples only, a generation job
        /// (202, <see cref="CreatedLoopApp.IsJob"/>) to pass to <see cref="WaitForJobAsync(string, TimeSpan?, TimeSpan?, CancellationToken)"/>.
        /// </summary>
        public Task<CreatedLoopApp> CreateAppAsync(object spec, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            var body = Json.From(spec) as JObject;
            if (body == null) throw new ArgumentException("spec must be an object", "spec");
            body = (JObject)body.DeepClone();
            var id = body["loop_app_id"];
            if (id == null || id.Type == JTokenType.Null)
            {
                if (AppId == null)
                    throw new ArgumentException("spec.loop_app_id is required on a client that is not bound to a Loop App", "spec");
                body["loop_app_id"] = AppId;
            }
            return Call<CreatedLoopApp>("POST", "/loop-apps", body, null, options, cancellationToken);
        }

        /// <summary>Changes some settings of the bound app (any subset, nested objects in part); answers with the app.</summary>
        public Task<LoopApp> UpdateAppAsync(object settings, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopApp>("PATCH", "", Json.From(settings), null, options, cancellationToken);
        }

        /// <summary>Stops serving (execute answers 503) until <see cref="ResumeAsync"/>.</summary>
        public Task<LoopApp> PauseAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopApp>("POST", "/pause", null, null, options, cancellationToken);
        }

        public Task<LoopApp> ResumeAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopApp>("POST", "/resume", null, null, options, cancellationToken);
        }

        /// <summary>Stops serving for good (execute answers 410); the data is kept.</summary>
        public Task<LoopApp> ArchiveAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopApp>("POST", "/archive", null, null, options, cancellationToken);
        }

        /// <summary>Adds labelled <c>{input, output}</c> rows; all are checked against the schemas and none is stored
        /// if any is bad.</summary>
        public Task<ExamplesAdded> AddExamplesAsync(IEnumerable<object> examples, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<ExamplesAdded>("POST", "/examples", new JObject { { "examples", Array(examples, "examples") } },
                null, options, cancellationToken);
        }

        /// <summary>The labelled examples as stored (<c>{input, output, source, ts}</c> each), read whole.</summary>
        public async Task<JArray> ExportExamplesAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            if (AppId == null) throw new InvalidOperationException("this client is not bound to a Loop App");
            var rows = await _transport.RequestAsync("GET", "/loop-apps/" + Uri.EscapeDataString(AppId) + "/examples",
                null, null, options, cancellationToken, jsonLines: true).ConfigureAwait(false);
            return (JArray)rows;
        }

        // --- versions -------------------------------------------------------------------------------------------

        /// <summary>Every version, oldest first, with its status and evaluation.</summary>
        public Task<VersionList> ListVersionsAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<VersionList>("GET", "/versions", null, null, options, cancellationToken);
        }

        public Task<LoopAppVersion> GetVersionAsync(string version, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopAppVersion>("GET", "/versions/" + Segment(version, "version"), null, null, options,
                cancellationToken);
        }

        /// <summary>A hand-written program (<c>function execute(input) {…}</c>, and files it reads as
        /// <c>loopai.files[name]</c>) as a new version, <c>testing</c> until activated.</summary>
        public Task<LoopAppVersion> UploadVersionAsync(string code, IDictionary<string, string> files = null,
            RequestOptions options = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (code == null) throw new ArgumentNullException("code");
            var body = new JObject { { "code", code } };
            if (files != null) body["files"] = JObject.FromObject(files, Json.Serializer);
            return AppCall<LoopAppVersion>("POST", "/versions", body, null, options, cancellationToken);
        }

        /// <summary>Starts a job that makes a new version from all labelled data.</summary>
        public Task<JobAccepted> RegenerateAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<JobAccepted>("POST", "/versions", new JObject { { "regenerate", true } }, null, options,
                cancellationToken);
        }

        /// <summary><paramref name="force"/> activates a deprecated version too (else 409 version_deprecated).</summary>
        public Task<LoopAppVersion> ActivateAsync(string version, bool force = false, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopAppVersion>("POST", "/versions/" + Segment(version, "version") + "/activate",
                new JObject { { "force", force } }, null, options, cancellationToken);
        }

        /// <summary>Makes the version before the active one active again (force: even if it is deprecated).</summary>
        public Task<LoopAppVersion> RollbackAsync(bool force = false, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopAppVersion>("POST", "/rollback", new JObject { { "force", force } }, null, options,
                cancellationToken);
        }

        /// <summary>Marks a version deprecated: it is then activated or rolled back to only with force.</summary>
        public Task<LoopAppVersion> DeprecateAsync(string version, string reason = null, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            var body = reason == null ? new JObject() : new JObject { { "reason", reason } };
            return AppCall<LoopAppVersion>("POST", "/versions/" + Segment(version, "version") + "/deprecate", body,
                null, options, cancellationToken);
        }

        /// <summary>Takes a deprecation back.</summary>
        public Task<LoopAppVersion> ReinstateAsync(string version, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<LoopAppVersion>("POST", "/versions/" + Segment(version, "version") + "/reinstate", null,
                null, options, cancellationToken);
        }

        // --- the improvement loop -------------------------------------------------------------------------------

        /// <summary>Recent executions, newest first: <c>{"executions": [...]}</c>.</summary>
        public Task<JObject> GetExecutionsAsync(int? limit = null, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<JObject>("GET", "/executions", null, Query("limit", limit), options, cancellationToken);
        }

        /// <summary>What an execution should have answered; counts as a verdict of the <c>human</c> oracle.</summary>
        public Task<FeedbackResult> FeedbackAsync(string executionId, object expectedOutput,
            RequestOptions options = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            var body = new JObject { { "execution_id", executionId }, { "expected_output", Json.From(expectedOutput) } };
            return AppCall<FeedbackResult>("POST", "/feedback", body, null, options, cancellationToken);
        }

        /// <summary>Samples waiting for an oracle (with oracle <c>human</c>, for feedback):
        /// <c>{"pending": [...], "total": n}</c>.</summary>
        public Task<JObject> GetReviewQueueAsync(int? limit = null, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<JObject>("GET", "/review-queue", null, Query("limit", limit), options, cancellationToken);
        }

        /// <summary>Oracle verdicts, newest first: <c>{"validations": [...]}</c>; <c>correct: false</c> gives only
        /// the disagreements.</summary>
        public Task<JObject> GetValidationsAsync(int? limit = null, bool? correct = null, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            var query = Query("limit", limit);
            if (correct.HasValue) query.Add(new KeyValuePair<string, string>("correct", correct.Value ? "true" : "false"));
            return AppCall<JObject>("GET", "/validations", null, query, options, cancellationToken);
        }

        /// <summary>Per-day counts, latency, accuracy and oracle savings, and a <c>summary</c>.</summary>
        public Task<JObject> GetAnalyticsAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<JObject>("GET", "/analytics", null, null, options, cancellationToken);
        }

        /// <summary>Improvement decisions, newest first: <c>{"events": [...]}</c>.</summary>
        public Task<JObject> GetEventsAsync(int? limit = null, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<JObject>("GET", "/events", null, Query("limit", limit), options, cancellationToken);
        }

        /// <summary>Runs the oracle over the pending samples now: <c>{ingested, validated, correct, …}</c>.</summary>
        public Task<JObject> ValidateAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<JObject>("POST", "/validate", null, null, options, cancellationToken);
        }

        /// <summary>Starts an improvement job (regenerate, then promote by the app's policy).</summary>
        public Task<JobAccepted> ImproveAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return AppCall<JobAccepted>("POST", "/improve", null, null, options, cancellationToken);
        }

        // --- jobs -----------------------------------------------------------------------------------------------

        public Task<Job> GetJobAsync(string jobId, RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return Call<Job>("GET", "/jobs/" + Segment(jobId, "jobId"), null, null, options, cancellationToken);
        }

        /// <summary>Jobs the server remembers (since it started), newest first; only the bound app's when bound.</summary>
        public Task<JobList> ListJobsAsync(RequestOptions options = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            var query = new List<KeyValuePair<string, string>>();
            if (AppId != null) query.Add(new KeyValuePair<string, string>("loop_app_id", AppId));
            return Call<JobList>("GET", "/jobs", null, query, options, cancellationToken);
        }

        /// <summary>
        /// Polls a job until it has succeeded and returns it (default: give up after 60 s, poll every 0.5 s).
        /// Throws a <see cref="LoopaiException"/> with code <c>job_failed</c> (the job in <c>Details["job"]</c>) if
        /// it failed, and a <see cref="LoopaiTimeoutException"/> with code <c>job_timeout</c> if it is still going.
        /// </summary>
        public async Task<Job> WaitForJobAsync(string jobId, TimeSpan? timeout = null, TimeSpan? interval = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            var limit = timeout ?? TimeSpan.FromSeconds(60);
            var pause = interval ?? TimeSpan.FromMilliseconds(500);
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var job = await GetJobAsync(jobId, null, cancellationToken).ConfigureAwait(false);
                if (job.State == "succeeded") return job;
                if (job.State == "failed")
                {
                    throw new LoopaiException("job " + jobId + " failed: " + (job.Error ?? "no reason given"), null,
                        "job_failed", new JObject { { "job", JObject.FromObject(job, Json.Serializer) } });
                }
                var left = limit - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    throw new LoopaiTimeoutException(
                        "job " + jobId + " is still " + job.State + " after " + limit.TotalSeconds + " s", null,
                        "job_timeout", new JObject { { "job", JObject.FromObject(job, Json.Serializer) } });
                }
                await Task.Delay(left < pause ? left : pause, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>The same, for the answer that started the job.</summary>
        public Task<Job> WaitForJobAsync(JobAccepted job, TimeSpan? timeout = null, TimeSpan? interval = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            if (job == null) throw new ArgumentNullException("job");
            return WaitForJobAsync(job.JobId, timeout, interval, cancellationToken);
        }

        // --- plumbing -------------------------------------------------------------------------------------------

        private async Task<T> Call<T>(string method, string path, JToken body,
            IList<KeyValuePair<string, string>> query, RequestOptions options, CancellationToken cancellationToken)
        {
            var answer = await _transport.RequestAsync(method, path, body, query, options, cancellationToken)
                .ConfigureAwait(false);
            try
            {
                return Json.To<T>(answer);
            }
            catch (Exception error) when (error is Newtonsoft.Json.JsonException || error is ArgumentException ||
                                          error is InvalidCastException || error is FormatException)
            {
                throw new LoopaiException(method + " " + BaseUrl + path + " answered with JSON this client cannot read as " +
                                          typeof(T).Name + ": " + error.Message, null, "invalid_response", inner: error);
            }
        }

        /// <summary>A call under <c>/loop-apps/{bound app}</c>; throws (without a request) on a client bound to no app.</summary>
        private Task<T> AppCall<T>(string method, string path, JToken body, IList<KeyValuePair<string, string>> query,
            RequestOptions options, CancellationToken cancellationToken)
        {
            if (AppId == null)
            {
                throw new InvalidOperationException(
                    "this client is not bound to a Loop App: new LoopaiClient(\"app-id\") or client.ForApp(\"app-id\")");
            }
            return Call<T>(method, "/loop-apps/" + Uri.EscapeDataString(AppId) + path, body, query, options,
                cancellationToken);
        }

        /// <summary>One path segment (a version, a job id), escaped so it cannot reach another route.</summary>
        private static string Segment(string value, string name)
        {
            if (string.IsNullOrEmpty(value)) throw new ArgumentException(name + " must not be empty", name);
            return Uri.EscapeDataString(value);
        }

        private static JArray Array(IEnumerable<object> items, string name)
        {
            if (items == null) throw new ArgumentNullException(name);
            return new JArray(items.Select(Json.From).ToArray<object>());
        }

        private static List<KeyValuePair<string, string>> Query(string name, int? value)
        {
            var query = new List<KeyValuePair<string, string>>();
            if (value.HasValue)
                query.Add(new KeyValuePair<string, string>(name, value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            return query;
        }

        private static string Env(string name)
        {
            var value = Environment.GetEnvironmentVariable(name);
            return string.IsNullOrEmpty(value) ? null : value;
        }
    }
}
