// HTTP transport: one JSON request, with a timeout per attempt, retried where a retry is safe.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Loopai
{
    /// <summary>Settings of one call that override the client's.</summary>
    public class RequestOptions
    {
        /// <summary>How long to wait for each attempt's whole answer (overrides <see cref="LoopaiClientOptions.Timeout"/>).</summary>
        public TimeSpan? Timeout { get; set; }

        /// <summary>Retries for this call (overrides <see cref="LoopaiClientOptions.MaxRetries"/>).</summary>
        public int? MaxRetries { get; set; }
    }

    /// <summary>The waits between tries: Retry-After parsing and exponential backoff with jitter.</summary>
    public static class Backoff
    {
        /// <summary>First backoff step; each retry doubles it, up to <see cref="Cap"/>.</summary>
        public static readonly TimeSpan Base = TimeSpan.FromMilliseconds(500);

        public static readonly TimeSpan Cap = TimeSpan.FromSeconds(8);

        /// <summary>A Retry-After longer than this is not waited out: the caller gets the error and decides.</summary>
        public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

        private static readonly Random Rng = new Random();

        private static double NextDouble()
        {
            lock (Rng) return Rng.NextDouble();
        }

        /// <summary>Exponential backoff with jitter: half the step fixed, half random, so clients that failed
        /// together spread.</summary>
        public static TimeSpan ForAttempt(int attempt)
        {
            var step = Math.Min(Cap.TotalMilliseconds, Base.TotalMilliseconds * Math.Pow(2, attempt));
            return TimeSpan.FromMilliseconds(step / 2 + NextDouble() * (step / 2));
        }

        /// <summary>Never earlier than the server asked; a little jitter on top (up to 10 %, at most 1 s) so
        /// limited clients do not come back in step.</summary>
        public static TimeSpan AfterRetryAfter(TimeSpan retryAfter)
        {
            var extra = NextDouble() * Math.Min(1000, retryAfter.TotalMilliseconds * 0.1);
            return retryAfter + TimeSpan.FromMilliseconds(extra);
        }

        /// <summary><c>Retry-After</c> as a wait from <paramref name="now"/>: delay-seconds or an HTTP date (always
        /// GMT); null if absent or garbled. A date in the past, or a negative number, means now.</summary>
        public static TimeSpan? ParseRetryAfter(string value, DateTimeOffset now)
        {
            var text = value == null ? "" : value.Trim();
            if (text.Length == 0) return null;
            double seconds;
            if (IsDecimal(text) && double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint,
                    CultureInfo.InvariantCulture, out seconds))
            {
                return TimeSpan.FromMilliseconds(Math.Max(0, seconds * 1000));
            }
            if (!text.EndsWith(" GMT", StringComparison.Ordinal)) return null;
            DateTimeOffset at;
            if (!DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal, out at) &&
                !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at))
            {
                return null;
            }
            var wait = at - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        public static TimeSpan? ParseRetryAfter(string value)
        {
            return ParseRetryAfter(value, DateTimeOffset.UtcNow);
        }

        private static bool IsDecimal(string text)
        {
            var i = text[0] == '-' ? 1 : 0;
            var digits = 0;
            while (i < text.Length && char.IsDigit(text[i]) && text[i] < 128) { i++; digits++; }
            if (digits == 0) return false;
            if (i == text.Length) return true;
            if (text[i] != '.') return false;
            i++;
            var fraction = 0;
            while (i < text.Length && char.IsDigit(text[i]) && text[i] < 128) { i++; fraction++; }
            return fraction > 0 && i == text.Length;
        }
    }

    internal sealed class Transport : IDisposable
    {
        private readonly HttpClient _http;
        private int _disposed;

        private readonly string[] _baseUrls;
        // The server calls go to: the first, until it fails and another answers (the client stays with that one).
        private int _current;

        internal Transport(string[] baseUrls, string apiKey, TimeSpan timeout, int maxRetries, HttpMessageHandler handler,
            bool disposeHandler)
        {
            _baseUrls = baseUrls;
            ApiKey = apiKey;
            Timeout = timeout;
            MaxRetries = maxRetries;
            _http = handler == null ? new HttpClient() : new HttpClient(handler, disposeHandler);
            // Each attempt has its own timeout (below), which also covers reading the answer.
            _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        }

        internal string BaseUrl { get { return _baseUrls[Volatile.Read(ref _current)]; } }
        internal string ApiKey { get; private set; }
        internal TimeSpan Timeout { get; private set; }
        internal int MaxRetries { get; private set; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) _http.Dispose();
        }

        /// <summary>
        /// The parsed JSON answer of a 2xx response (null for an empty body); otherwise throws the matching
        /// <see cref="LoopaiException"/>.
        ///
        /// Retried up to MaxRetries times: 429 and 503 always (the server refused before doing any work), other 5xx
        /// and broken connections for GET only (a POST may have been carried out), connection failures before the
        /// request was sent always. Timeouts are not retried: the server may still be working on the request.
        /// With several base URLs, whatever would be retried goes to the next server at once, once per server,
        /// before any backoff (failing over is not counted as a retry).
        /// </summary>
        internal async Task<JToken> RequestAsync(string method, string path, JToken body,
            IList<KeyValuePair<string, string>> query, RequestOptions options, CancellationToken cancellationToken,
            bool jsonLines = false)
        {
            var target = Target(path, query);
            var maxRetries = options != null && options.MaxRetries.HasValue ? options.MaxRetries.Value : MaxRetries;
            var timeout = options != null && options.Timeout.HasValue ? options.Timeout.Value : Timeout;
            if (maxRetries < 0) throw new ArgumentOutOfRangeException("options", "MaxRetries must be 0 or more");
            if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException("options", "Timeout must be more than 0");
            var payload = body == null ? null : Json.Write(body);
            var others = _baseUrls.Length - 1; // the servers this call may still fail over to at once

            for (var attempt = 0; ;)
            {
                var url = BaseUrl + target;
                Answer answer;
                try
                {
                    answer = await SendAsync(method, url, payload, timeout, cancellationToken).ConfigureAwait(false);
                }
                catch (LoopaiConnectionException error)
                {
                    var retryable = method == "GET" || NotSent(error.InnerException);
                    if (retryable && FailOver(ref others)) continue;
                    if (!retryable || attempt >= maxRetries) throw;
                    await Task.Delay(Backoff.ForAttempt(attempt++), cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (answer.Status >= 200 && answer.Status < 300)
                    return jsonLines ? ParseJsonLines(answer, method, url) : ParseJson(answer, method, url);
                if (answer.Status == 503 && FailOver(ref others)) continue;

                var failure = ErrorMapping.ForResponse(answer.Status, answer.Text, method, url, answer.RequestId,
                    answer.RetryAfter);
                var retry = answer.Status == 429 || answer.Status == 503 || (answer.Status >= 500 && method == "GET");
                var wait = failure.RetryAfter.HasValue ? failure.RetryAfter.Value : Backoff.ForAttempt(attempt);
                if (!retry || attempt >= maxRetries || wait > Backoff.MaxRetryAfter) throw failure;
                if (failure.RetryAfter.HasValue) wait = Backoff.AfterRetryAfter(wait);
                attempt++;
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Moves to the next server while this call has one it has not tried.</summary>
        private bool FailOver(ref int others)
        {
            if (others <= 0) return false;
            others--;
            Volatile.Write(ref _current, (Volatile.Read(ref _current) + 1) % _baseUrls.Length);
            return true;
        }

        /// <summary>The path and query of a call, to put after whichever base URL serves it.</summary>
        private static string Target(string path, IList<KeyValuePair<string, string>> query)
        {
            var url = new StringBuilder(path);
            var first = true;
            if (query != null)
            {
                foreach (var pair in query)
                {
                    if (pair.Value == null) continue;
                    url.Append(first ? '?' : '&').Append(Uri.EscapeDataString(pair.Key)).Append('=')
                        .Append(Uri.EscapeDataString(pair.Value));
                    first = false;
                }
            }
            return url.ToString();
        }

        private sealed class Answer
        {
            internal int Status;
            internal string Text;
            internal TimeSpan? RetryAfter;
            internal string RequestId;
        }

        /// <summary>One attempt; the timeout covers the whole answer, body included.</summary>
        private async Task<Answer> SendAsync(string method, string url, string payload, TimeSpan timeout,
            CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var timer = new CancellationTokenSource())
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token))
            using (var request = new HttpRequestMessage(new HttpMethod(method), url))
            {
                request.Headers.Accept.ParseAdd("application/json");
                request.Headers.TryAddWithoutValidation("User-Agent", LoopaiClient.UserAgent);
                if (!string.IsNullOrEmpty(ApiKey))
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + ApiKey);
                if (payload != null) request.Content = new StringContent(payload, new UTF8Encoding(false), "application/json");
                timer.CancelAfter(timeout);
                try
                {
                    // ResponseContentRead: the body is read before SendAsync completes, under the same token.
                    using (var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead,
                               linked.Token).ConfigureAwait(false))
                    {
                        var text = response.Content == null
                            ? ""
                            : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                        return new Answer
                        {
                            Status = (int)response.StatusCode,
                            Text = text,
                            RetryAfter = Backoff.ParseRetryAfter(Header(response, "Retry-After")),
                            RequestId = Header(response, "X-Request-Id"),
                        };
                    }
                }
                catch (Exception error) when (!(error is LoopaiException))
                {
                    if (cancellationToken.IsCancellationRequested)
                        throw new OperationCanceledException(cancellationToken);
                    if (timer.IsCancellationRequested)
                    {
                        throw new LoopaiTimeoutException(
                            method + " " + url + " got no answer within " + Millis(timeout) + " ms",
                            null, "timeout", inner: error);
                    }
                    if (error is ObjectDisposedException) throw;
                    throw new LoopaiConnectionException(method + " " + url + " failed: " + Describe(error), null,
                        "connection_error", CauseDetails(error), inner: error);
                }
            }
        }

        private static string Millis(TimeSpan span)
        {
            return Math.Round(span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }

        private static string Header(HttpResponseMessage response, string name)
        {
            IEnumerable<string> values;
            if (response.Headers.TryGetValues(name, out values)) return values.FirstOrDefault();
            if (response.Content != null && response.Content.Headers.TryGetValues(name, out values))
                return values.FirstOrDefault();
            return null;
        }

        /// <summary>A JSON Lines answer (one value a line) as an array.</summary>
        private static JToken ParseJsonLines(Answer answer, string method, string url)
        {
            var rows = new JArray();
            foreach (var line in (answer.Text ?? "").Split('\n'))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                rows.Add(ParseJson(new Answer { Status = answer.Status, Text = line }, method, url));
            }
            return rows;
        }

        private static JToken ParseJson(Answer answer, string method, string url)
        {
            if (string.IsNullOrWhiteSpace(answer.Text)) return null;
            try
            {
                return Json.Parse(answer.Text);
            }
            catch (JsonException error)
            {
                var text = answer.Text.Length > 200 ? answer.Text.Substring(0, 200) : answer.Text;
                throw new LoopaiException(
                    method + " " + url + " answered with something that is not JSON: " + JsonConvert.ToString(text),
                    answer.Status, "invalid_response", inner: error);
            }
        }

        // --- what a connection failure was ----------------------------------------------------------------------

        /// <summary>The exception and its causes, outermost first (AggregateException's inner ones too).</summary>
        private static IEnumerable<Exception> Causes(Exception error)
        {
            var seen = 0;
            var stack = new Stack<Exception>();
            stack.Push(error);
            while (stack.Count > 0 && seen++ < 16)
            {
                var e = stack.Pop();
                yield return e;
                var aggregate = e as AggregateException;
                if (aggregate != null)
                {
                    foreach (var inner in aggregate.InnerExceptions.Reverse()) stack.Push(inner);
                }
                else if (e.InnerException != null)
                {
                    stack.Push(e.InnerException);
                }
            }
        }

        /// <summary>
        /// Failures where the request never reached the server (refused, no such host, no route), so even a POST
        /// may be sent again. A connection that broke later (reset, closed mid-answer) may have been acted on.
        /// </summary>
        internal static bool NotSent(Exception error)
        {
            if (error == null) return false;
            foreach (var e in Causes(error))
            {
                var socket = e as SocketException;
                if (socket != null)
                {
                    switch (socket.SocketErrorCode)
                    {
                        case SocketError.ConnectionRefused:
                        case SocketError.HostNotFound:
                        case SocketError.TryAgain:
                        case SocketError.NoData:
                        case SocketError.HostUnreachable:
                        case SocketError.NetworkUnreachable:
                        case SocketError.AddressNotAvailable:
                            return true;
                    }
                }
                var web = e as WebException;
                if (web != null && (web.Status == WebExceptionStatus.ConnectFailure ||
                                    web.Status == WebExceptionStatus.NameResolutionFailure))
                {
                    return true;
                }
            }
            return false;
        }

        private static JObject CauseDetails(Exception error)
        {
            foreach (var e in Causes(error))
            {
                var socket = e as SocketException;
                if (socket != null) return new JObject { { "cause_code", socket.SocketErrorCode.ToString() } };
            }
            foreach (var e in Causes(error))
            {
                var web = e as WebException;
                if (web != null) return new JObject { { "cause_code", web.Status.ToString() } };
            }
            return null;
        }

        /// <summary>"An error occurred while sending the request" says little; the causes say what happened.</summary>
        private static string Describe(Exception error)
        {
            var parts = new List<string>();
            foreach (var e in Causes(error))
            {
                var text = string.IsNullOrEmpty(e.Message) ? e.GetType().Name : e.Message;
                if (!parts.Contains(text)) parts.Add(text);
                if (parts.Count >= 5) break;
            }
            return parts.Count == 0 ? "unknown error" : string.Join(": ", parts);
        }
    }
}
