// JSON in and out with Newtonsoft.Json, set up the same way for every request and answer.

using System.Globalization;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Loopai
{
    internal static class Json
    {
        /// <summary>Strings stay strings (no guessing of dates), numbers with a fraction are doubles.</summary>
        internal static readonly JsonSerializerSettings Settings = new JsonSerializerSettings
        {
            DateParseHandling = DateParseHandling.None,
            FloatParseHandling = FloatParseHandling.Double,
            Culture = CultureInfo.InvariantCulture,
            MissingMemberHandling = MissingMemberHandling.Ignore,
        };

        internal static readonly JsonSerializer Serializer = JsonSerializer.Create(Settings);

        /// <summary>Parses a whole JSON text; a date-looking string stays a string.</summary>
        internal static JToken Parse(string text)
        {
            using (var reader = new JsonTextReader(new StringReader(text)))
            {
                reader.DateParseHandling = DateParseHandling.None;
                reader.FloatParseHandling = FloatParseHandling.Double;
                var token = JToken.ReadFrom(reader);
                // Anything after the value (other than whitespace) means this was not one JSON text.
                if (reader.Read() && reader.TokenType != JsonToken.Comment)
                    throw new JsonReaderException("additional text after the JSON value");
                return token;
            }
        }

        /// <summary>Any value as a JSON token: anonymous objects, dictionaries, POCOs, JTokens.</summary>
        internal static JToken From(object value)
        {
            if (value == null) return JValue.CreateNull();
            var token = value as JToken;
            return token != null ? token : JToken.FromObject(value, Serializer);
        }

        internal static T To<T>(JToken token)
        {
            if (token == null) return default(T);
            return token.ToObject<T>(Serializer);
        }

        internal static string Write(JToken token)
        {
            return token.ToString(Formatting.None);
        }
    }
}
