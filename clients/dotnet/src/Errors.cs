// Errors thrown by the client: one class per kind of failure, all subclasses of LoopaiException.

using System;
using System.Collections.Generic;
using Newtonsoft.Json.Linq;

namespace Loopai
{
    /// <summary>
    /// A failed call. <see cref="Status"/> is the HTTP status (null when no answer came back: a timeout, a
    /// connection failure, or the client itself gave up); <see cref="Code"/>, <see cref="Exception.Message"/> and
    /// <see cref="Details"/> come from the server's <c>{"error": {code, message, details}}</c> body.
    /// </summary>
    public class LoopaiException : Exception
    {
        public LoopaiException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, inner)
        {
            Status = status;
            Code = code;
            Details = details;
            RequestId = requestId;
            RetryAfter = retryAfter;
        }

        /// <summary>The HTTP status; null when no answer came.</summary>
        public int? Status { get; private set; }

        /// <summary>The server's error code (<c>not_found</c>, <c>invalid_input</c>, …) or the client's
        /// (<c>timeout</c>, <c>connection_error</c>, <c>job_failed</c>, <c>job_timeout</c>, <c>invalid_response</c>).</summary>
        public string Code { get; private set; }

        /// <summary>What the server said in <c>error.details</c> (e.g. the schema errors of a bad input), if anything.</summary>
        public JObject Details { get; private set; }

        /// <summary>The request id, when the server or a proxy in front of it sent one (<c>X-Request-Id</c>).</summary>
        public string RequestId { get; private set; }

        /// <summary>How long the server asked to wait before trying again (<c>Retry-After</c>), if it said.</summary>
        public TimeSpan? RetryAfter { get; private set; }

        /// <summary>As <see cref="Exception.ToString"/> (inner exception and stack trace included), with the
        /// status and code after the message.</summary>
        public override string ToString()
        {
            var text = base.ToString();
            var head = GetType().FullName + ": " + Message;
            var where = " (" + (Status.HasValue ? "HTTP " + Status.Value : "no response") + ", " + Code + ")";
            return text.StartsWith(head, StringComparison.Ordinal) ? head + where + text.Substring(head.Length) : text + where;
        }
    }

    /// <summary>401: no API key, or one the server does not know.</summary>
    public class LoopaiAuthenticationException : LoopaiException
    {
        public LoopaiAuthenticationException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    /// <summary>403: the key is known but may not do this (an execute key on an admin call, or on another app).</summary>
    public class LoopaiPermissionException : LoopaiException
    {
        public LoopaiPermissionException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    /// <summary>404: no such Loop App, version, job, execution or route.</summary>
    public class LoopaiNotFoundException : LoopaiException
    {
        public LoopaiNotFoundException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    /// <summary>400, 409, 413, 415, 422: the request was refused as it is (bad input or settings, a conflict,
    /// too large…); <see cref="LoopaiException.Details"/> says why.</summary>
    public class LoopaiValidationException : LoopaiException
    {
        public LoopaiValidationException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    /// <summary>429: over the key's rate limit; <see cref="LoopaiException.RetryAfter"/> says when a call will be
    /// let through again.</summary>
    public class LoopaiRateLimitException : LoopaiException
    {
        public LoopaiRateLimitException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    /// <summary>503: the app cannot serve now (paused, not loaded, no version yet) or the server is not ready.</summary>
    public class LoopaiUnavailableException : LoopaiException
    {
        public LoopaiUnavailableException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    /// <summary>Any other 5xx: the server failed; its log has the details.</summary>
    public class LoopaiServerException : LoopaiException
    {
        public LoopaiServerException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    /// <summary>No answer within the timeout (code <c>timeout</c>; the request may still have been carried out),
    /// or a job still not finished in <see cref="LoopaiClient.WaitForJobAsync(string, System.TimeSpan?, System.TimeSpan?, System.Threading.CancellationToken)"/>
    /// (code <c>job_timeout</c>).</summary>
    public class LoopaiTimeoutException : LoopaiException
    {
        public LoopaiTimeoutException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    /// <summary>The server could not be reached, or the connection broke before an answer came back.</summary>
    public class LoopaiConnectionException : LoopaiException
    {
        public LoopaiConnectionException(string message, int? status, string code, JObject details = null,
            string requestId = null, TimeSpan? retryAfter = null, Exception inner = null)
            : base(message, status, code, details, requestId, retryAfter, inner) { }
    }

    internal static class ErrorMapping
    {
        private delegate LoopaiException Make(string message, int? status, string code, JObject details,
            string requestId, TimeSpan? retryAfter);

        private static readonly Dictionary<int, Make> ByStatus = new Dictionary<int, Make>
        {
            { 400, (m, s, c, d, r, a) => new LoopaiValidationException(m, s, c, d, r, a) },
            { 401, (m, s, c, d, r, a) => new LoopaiAuthenticationException(m, s, c, d, r, a) },
            { 403, (m, s, c, d, r, a) => new LoopaiPermissionException(m, s, c, d, r, a) },
            { 404, (m, s, c, d, r, a) => new LoopaiNotFoundException(m, s, c, d, r, a) },
            { 409, (m, s, c, d, r, a) => new LoopaiValidationException(m, s, c, d, r, a) },
            { 413, (m, s, c, d, r, a) => new LoopaiValidationException(m, s, c, d, r, a) },
            { 415, (m, s, c, d, r, a) => new LoopaiValidationException(m, s, c, d, r, a) },
            { 422, (m, s, c, d, r, a) => new LoopaiValidationException(m, s, c, d, r, a) },
            { 429, (m, s, c, d, r, a) => new LoopaiRateLimitException(m, s, c, d, r, a) },
            { 503, (m, s, c, d, r, a) => new LoopaiUnavailableException(m, s, c, d, r, a) },
        };

        /// <summary>The error for a non-2xx answer; <paramref name="body"/> is the response text, in Loopai's
        /// <c>{"error": {…}}</c> format or not (a proxy's HTML page, an empty body…).</summary>
        internal static LoopaiException ForResponse(int status, string body, string method, string url,
            string requestId, TimeSpan? retryAfter)
        {
            string code = null, message = null;
            JObject details = null;
            var error = ErrorBody(body);
            if (error != null)
            {
                var c = error["code"] as JValue;
                var m = error["message"] as JValue;
                if (c != null && c.Type == JTokenType.String) code = (string)c;
                if (m != null && m.Type == JTokenType.String) message = (string)m;
                details = error["details"] as JObject;
            }
            if (string.IsNullOrEmpty(code)) code = "http_" + status;
            if (string.IsNullOrEmpty(message))
            {
                var text = (body ?? "").Trim();
                if (text.Length > 200) text = text.Substring(0, 200);
                message = method + " " + url + " answered " + status + (text.Length > 0 ? ": " + text : "");
            }
            Make make;
            if (ByStatus.TryGetValue(status, out make)) return make(message, status, code, details, requestId, retryAfter);
            if (status >= 500) return new LoopaiServerException(message, status, code, details, requestId, retryAfter);
            return new LoopaiException(message, status, code, details, requestId, retryAfter);
        }

        private static JObject ErrorBody(string body)
        {
            if (string.IsNullOrEmpty(body)) return null;
            try
            {
                var parsed = Json.Parse(body) as JObject;
                return parsed == null ? null : parsed["error"] as JObject;
            }
            catch (Exception)
            {
                return null;
            }
        }
    }
}
