using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Descent.Playground;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Xunit;

namespace Descent.Tests;

/// <summary>The real page in headless Chromium (Debian's chromium and chromium-driver, installed by ./test).</summary>
public sealed class PlaygroundBrowserTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private ChromeDriver _browser = null!;
    private string _url = "";
    private static readonly string Shots = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        _app = Server.Build(IPAddress.Loopback, 0);
        await _app.StartAsync();
        _url = Server.Url(_app);
        Assert.True(File.Exists("/usr/bin/chromium") && File.Exists("/usr/bin/chromedriver"), "Chromium is missing: ./test installs it (apt-get install chromium chromium-driver).");
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1300,1250",
            // evil.example stands for a DNS-rebinding attacker's name that resolves to this machine.
            "--host-resolver-rules=MAP evil.example 127.0.0.1", $"--user-data-dir={Directory.CreateTempSubdirectory("descent-chromium").FullName}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.HideCommandPromptWindow = true;
        _browser = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        Directory.CreateDirectory(Shots);
    }

    public async Task DisposeAsync()
    {
        _browser.Quit();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private IWebElement By(string id) => _browser.FindElement(OpenQA.Selenium.By.Id(id));

    /// <summary>Opens the page, switches to the training view and waits until its first session is ready; returns the wait used.</summary>
    private WebDriverWait OpenTrainingView()
    {
        _browser.Navigate().GoToUrl(_url);
        var wait = new WebDriverWait(_browser, TimeSpan.FromSeconds(30));
        wait.Until(_ => By("status").Text.Contains("updates"));
        By("tab-train").Click();
        wait.Until(_ => By("t-status").Text.StartsWith("step 0: ready", StringComparison.Ordinal));
        return wait;
    }

    /// <summary>Types <paramref name="value"/> into field <paramref name="id"/>, leaves it, and returns the error the page then shows.</summary>
    private string Refused(WebDriverWait wait, string id, string value)
    {
        var field = By(id);
        field.SendKeys(value);
        field.SendKeys(Keys.Tab);
        wait.Until(_ => By("t-error").Displayed);
        return By("t-error").Text;
    }

    /// <summary>Sets the training view's stop step, starts training and waits until it has stopped there.</summary>
    private void TrainUntil(WebDriverWait wait, int step)
    {
        var stop = By("t-stop");
        stop.Clear();
        stop.SendKeys(step.ToString(System.Globalization.CultureInfo.InvariantCulture));
        By("t-start").Click();
        wait.Until(_ => By("t-status").Text.Contains($"stopped after {step} steps"));
    }

    private void WaitForRun(string previous)
    {
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("status").Text.Contains("updates") && By("status").Text != previous || By("results").Text != previous);
        Thread.Sleep(1800); // let the 1.5 s path animation finish before reading or screenshotting
    }

    private object? Js(string script) => ((IJavaScriptExecutor)_browser).ExecuteScript(script);

    /// <summary>The surface canvas's colour at run <paramref name="run"/>'s point <paramref name="index"/> (negative: from the end).</summary>
    private string MarkerColour(int run, int index) => (string)Js(
        $"const c = document.getElementById('surface'), f = surfaceFrame(), path = result.runs[{run}].path, p = path.at({index});" +
        "const d = c.getContext('2d').getImageData(Math.round(f.x(p[0])), Math.round(f.y(p[1])), 1, 1).data; return d[0]+','+d[1]+','+d[2];")!;

    private void AssertNoConsoleErrors()
    {
        // A refused request (400, shown on the page) is logged by the browser too; anything else is a fault.
        var errors = _browser.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level == LogLevel.Severe && !e.Message.Contains("status of 400")).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.Message)));
    }

    private void Shot(string name) => _browser.GetScreenshot().SaveAsFile(Path.Combine(Shots, name + ".png"));

    [Fact]
    public async Task Changing_optimizers_sliders_and_the_formula_redraws_paths_that_match_the_api()
    {
        _browser.Navigate().GoToUrl(_url);
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("status").Text.Contains("updates"));
        Thread.Sleep(1800);
        Shot("playground-default");

        // Change the first optimizer to NAdam, and move the second one's learning-rate slider with the keyboard.
        string before = By("results").Text;
        new SelectElement(By("opt-0")).SelectByText("nadam");
        WaitForRun(before);
        before = By("results").Text;
        var slider = By("opt-1-lr-slider");
        slider.SendKeys(Keys.ArrowLeft);
        slider.SendKeys(Keys.ArrowLeft);
        slider.SendKeys(Keys.Tab);
        WaitForRun(before);

        // Type a formula.
        before = By("results").Text;
        var expression = By("expression");
        expression.Clear();
        expression.SendKeys("x^2 + 5*y^2 + 0.5*sin(3*x)");
        expression.SendKeys(Keys.Tab);
        WaitForRun(before);
        Shot("playground-expression");
        Assert.Contains("nadam", By("legend").Text);

        // The table shows the end of each path; the API, asked the same thing, must agree.
        string hash = (string)((IJavaScriptExecutor)_browser).ExecuteScript("return decodeURIComponent(location.hash.slice(1));")!;
        var state = JsonDocument.Parse(hash).RootElement;
        Assert.Equal("x^2 + 5*y^2 + 0.5*sin(3*x)", state.GetProperty("f").GetString());
        Assert.Equal("nadam", state.GetProperty("opts")[0].GetProperty("o").GetString());
        double lr = state.GetProperty("opts")[1].GetProperty("h").GetProperty("lr").GetDouble();
        Assert.NotEqual(0.05, lr); // the slider moved it
        using var http = new HttpClient { BaseAddress = new Uri(_url) };
        var request = new
        {
            function = state.GetProperty("f").GetString(),
            start = new[] { state.GetProperty("x").GetDouble(), state.GetProperty("y").GetDouble() },
            steps = state.GetProperty("n").GetInt32(),
            optimizers = state.GetProperty("opts").EnumerateArray().Select(o => new { optimizer = o.GetProperty("o").GetString(), hyperparameters = o.GetProperty("h") }).ToArray(),
        };
        var answer = await (await http.PostAsJsonAsync("/api/trajectory", request)).Content.ReadFromJsonAsync<JsonElement>();
        var rows = By("results").FindElements(OpenQA.Selenium.By.CssSelector("tbody tr"));
        Assert.Equal(2, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var cells = rows[i].FindElements(OpenQA.Selenium.By.TagName("td")).Select(c => c.Text).ToArray();
            var path = answer.GetProperty("runs")[i].GetProperty("path");
            var last = path[path.GetArrayLength() - 1];
            for (int j = 0; j < 3; j++)
                Assert.Equal(last[j].GetDouble().ToString("G6", CultureInfo.InvariantCulture), double.Parse(cells[j + 1], CultureInfo.InvariantCulture).ToString("G6", CultureInfo.InvariantCulture));
        }

        // The canvas shows the path's end where the API says it is: the marker's pixel has the optimizer's colour.
        Assert.Equal("31,119,180", MarkerColour(0, -1)); // #1f77b4, the first optimizer's colour

        var errors = _browser.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level == LogLevel.Severe).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.Message)));
    }

    [Fact]
    public void A_broken_formula_shows_the_message_at_the_offending_character()
    {
        _browser.Navigate().GoToUrl(_url);
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("status").Text.Contains("updates"));
        var expression = By("expression");
        expression.Clear();
        expression.SendKeys("x^2 + * y");
        expression.SendKeys(Keys.Tab);
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("expression-error").Displayed);
        string message = By("expression-error").Text;
        Assert.Contains("at character 7 ('*')", message);
        Assert.Contains("x^2 + * y\n      ^", message);
        Shot("playground-error");
    }

    [Fact]
    public void Training_steps_redraw_the_boundary_and_can_be_paused_and_reset()
    {
        _browser.Navigate().GoToUrl(_url);
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("status").Text.Contains("updates"));
        By("tab-train").Click();
        Assert.True(By("train-view").Displayed);
        var flip = By("t-flip");
        flip.Clear();
        flip.SendKeys("0.05");
        By("t-start").Click();
        var wait = new WebDriverWait(_browser, TimeSpan.FromSeconds(60));
        string Canvas() => (string)((IJavaScriptExecutor)_browser).ExecuteScript("return document.getElementById('boundary').toDataURL();")!;
        int Step() => int.Parse(System.Text.RegularExpressions.Regex.Match(By("t-status").Text, @"step (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        wait.Until(_ => By("t-status").Text.StartsWith("step ") && Step() >= 50);
        string early = Canvas();
        int earlyStep = Step();
        wait.Until(_ => Step() >= earlyStep + 200);
        Assert.NotEqual(early, Canvas()); // the boundary was redrawn as it learned
        Shot("playground-training");
        By("t-pause").Click();
        Thread.Sleep(500);
        int paused = Step();
        Thread.Sleep(1000);
        Assert.Equal(paused, Step());
        Assert.Contains("(paused)", By("t-status").Text);
        By("t-start").Click(); // resume
        try
        {
            wait.Until(_ => Step() > paused);
        }
        catch (WebDriverTimeoutException)
        {
            Shot("playground-training-stalled");
            throw new Xunit.Sdk.XunitException($"training did not resume: status '{By("t-status").Text}', error '{By("t-error").Text}'");
        }
        By("t-reset").Click();
        wait.Until(_ => By("t-status").Text.StartsWith("step 0: ready", StringComparison.Ordinal));
        var errors = _browser.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level == LogLevel.Severe).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.Message)));
    }

    [Fact]
    public void A_hostile_link_runs_no_script_and_says_what_was_wrong()
    {
        const string Payload = "\"><img src=x onerror=\"window.pwned=1;document.title='pwned'\">";
        string hash = JsonSerializer.Serialize(new { opts = new object[] { new { o = "sgd", h = new { lr = Payload } } } });
        _browser.Navigate().GoToUrl(_url + "#" + Uri.EscapeDataString(hash));
        var wait = new WebDriverWait(_browser, TimeSpan.FromSeconds(30));
        wait.Until(_ => By("status").Text.Contains("updates") || By("expression-error").Displayed);
        Thread.Sleep(500);
        Assert.Null(Js("return window.pwned ?? null;"));
        Assert.Equal("Descent playground", _browser.Title);
        Assert.Empty(_browser.FindElements(OpenQA.Selenium.By.CssSelector("img")));
        Assert.True(By("link-error").Displayed);
        Assert.Contains("sgd lr must be a number", By("link-error").Text);
        Assert.Contains("showing the default view", By("link-error").Text);

        // A formula passes the link's checks and goes to the server, whose error message quotes it back into the page:
        // it must stay text.
        string formula = JsonSerializer.Serialize(new { f = "x +" + Payload });
        _browser.Navigate().GoToUrl(_url + "#" + Uri.EscapeDataString(formula));
        _browser.Navigate().Refresh();
        wait.Until(_ => By("expression-error").Displayed);
        Assert.Contains("onerror", By("expression-error").Text);   // the payload is shown, as text
        Assert.Empty(_browser.FindElements(OpenQA.Selenium.By.CssSelector("img")));
        Assert.Null(Js("return window.pwned ?? null;"));

        string unknown = JsonSerializer.Serialize(new { opts = new object[] { new { o = "adamm", h = new { } } } });
        _browser.Navigate().GoToUrl(_url + "#" + Uri.EscapeDataString(unknown));
        _browser.Navigate().Refresh();
        wait.Until(_ => By("link-error").Displayed && By("status").Text.Contains("updates"));
        Assert.Contains("unknown optimizer 'adamm'", By("link-error").Text);
        // Names every JavaScript object inherits are not optimizers either.
        foreach (var bad in new[] { "{\"x\":\"1\"}", "{\"n\":-5}", "{\"opts\":\"sgd\"}", "{\"opts\":[{\"o\":\"adam\",\"h\":{\"momentum\":0.9}}]}", "not json", "{\"zoom\":2}",
            "{\"opts\":[{\"o\":\"constructor\"}]}", "{\"opts\":[{\"o\":\"toString\",\"h\":{\"a\":1}}]}", "{\"opts\":[{\"o\":\"__proto__\"}]}" })
        {
            _browser.Navigate().GoToUrl(_url + "#" + Uri.EscapeDataString(bad));
            _browser.Navigate().Refresh();
            wait.Until(_ => By("link-error").Displayed && By("status").Text.Contains("updates"));
            Assert.Contains("could not be used", By("link-error").Text);
        }
        Assert.Null(Js("return window.pwned ?? null;"));
        AssertNoConsoleErrors();
    }

    [Fact]
    public void A_rebinding_name_for_this_machine_gets_no_page()
    {
        int port = new Uri(_url).Port;
        _browser.Navigate().GoToUrl($"http://evil.example:{port}/");
        Assert.Contains("answers only to", _browser.PageSource);
        Assert.Empty(_browser.FindElements(OpenQA.Selenium.By.Id("surface")));
        _browser.Navigate().GoToUrl($"http://localhost:{port}/");
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("status").Text.Contains("updates"));
    }

    [Fact]
    public void Reloading_the_training_view_many_times_never_locks_the_user_out()
    {
        var sessions = _app.Services.GetRequiredService<TrainingSessions>();
        var wait = new WebDriverWait(_browser, TimeSpan.FromSeconds(30));
        int Step() => int.Parse(System.Text.RegularExpressions.Regex.Match(By("t-status").Text, @"step (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        for (int i = 0; i < TrainingSessions.MaxSessions + 4; i++)
        {
            _browser.Navigate().GoToUrl(_url + "?reload=" + i);
            wait.Until(_ => By("status").Text.Contains("updates"));
            By("tab-train").Click();
            By("t-start").Click();
            wait.Until(_ => By("t-error").Displayed || (By("t-status").Text.StartsWith("step ", StringComparison.Ordinal) && Step() >= 25));
            Assert.False(By("t-error").Displayed, $"reload {i}: {By("t-error").Text}");
        }
        _browser.Navigate().GoToUrl("about:blank");
        // The pages that went away ended their sessions themselves (sendBeacon on pagehide).
        for (int i = 0; i < 50 && sessions.Count > 0; i++) Thread.Sleep(100);
        Assert.Equal(0, sessions.Count);
    }

    [Fact]
    public void Undefined_starts_and_values_are_shown_and_the_optimizer_cap_disables_adding()
    {
        string hash = JsonSerializer.Serialize(new { f = "log(x) + y^2", x = -1, y = 0.5, n = 50, opts = new object[] { new { o = "adam", h = new { lr = 0.05 } } } });
        _browser.Navigate().GoToUrl(_url + "#" + Uri.EscapeDataString(hash));
        var wait = new WebDriverWait(_browser, TimeSpan.FromSeconds(30));
        wait.Until(_ => By("expression-error").Displayed);
        Assert.Contains("not defined at the start (-1, 0.5)", By("expression-error").Text);
        Assert.DoesNotContain("computing", By("status").Text);
        // Moving the start to where the formula is defined draws it, with the undefined half in its own colour.
        var x = By("start-x");
        x.Clear();
        x.SendKeys("1");
        x.SendKeys(Keys.Tab);
        wait.Until(_ => By("status").Text.Contains("updates"));
        Thread.Sleep(1800);
        string undefinedPixel = (string)Js("const f = surfaceFrame(), d = document.getElementById('surface').getContext('2d').getImageData(Math.round(f.x(-2)), Math.round(f.y(-2.5)), 1, 1).data; return d[0]+','+d[1]+','+d[2];")!;
        Assert.Equal("200,200,200", undefinedPixel);
        Shot("playground-undefined");
        for (int i = 1; i < 8; i++)
        {
            Assert.True(By("add-optimizer").Enabled);
            By("add-optimizer").Click();
        }
        wait.Until(_ => _browser.FindElements(OpenQA.Selenium.By.CssSelector(".optimizer")).Count == 8);
        Assert.False(By("add-optimizer").Enabled);
        Assert.Contains("at most 8", By("add-optimizer").Text);
        wait.Until(_ => By("status").Text.StartsWith("8 optimizer(s)", StringComparison.Ordinal));
        AssertNoConsoleErrors();
    }

    [Fact]
    public void The_replay_scrubber_moves_every_marker_to_the_same_update()
    {
        _browser.Navigate().GoToUrl(_url);
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("status").Text.Contains("updates"));
        // The replay runs to its end by itself (about 1.5 s); wait for it rather than for a fixed time, which a busy machine outran.
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("play").Text == "Play" && By("replay-index").Text == "300");
        Js("const s = document.getElementById('replay'); s.value = 40; s.dispatchEvent(new Event('input'));");
        Assert.Equal("40", By("replay-index").Text);
        Assert.Equal("31,119,180", MarkerColour(0, 40));
        Assert.Equal("214,39,40", MarkerColour(1, 40));
        var scrubber = By("replay");
        scrubber.SendKeys(Keys.ArrowRight);
        Assert.Equal("41", By("replay-index").Text);
        Assert.Equal("214,39,40", MarkerColour(1, 41));
        Shot("playground-replay");
        By("play").Click();
        Assert.Equal("Pause", By("play").Text);
        new WebDriverWait(_browser, TimeSpan.FromSeconds(10)).Until(_ => By("replay-index").Text == "300");
        // The hover readout names each run's loss and point at the update under the pointer.
        new OpenQA.Selenium.Interactions.Actions(_browser).MoveToElement(By("loss")).Perform();
        Assert.Matches(@"^update \d+: sgd lr 0\.001 momentum 0\.9: loss [\d.e+-]+ at \(", By("readout").Text);
        Assert.Contains("sgd lr 0.001 momentum 0.9", By("legend").Text);
        AssertNoConsoleErrors();
    }

    [Fact]
    public void The_training_view_draws_the_data_first_applies_settings_at_once_and_stops_when_told()
    {
        var wait = OpenTrainingView();
        long ClassPixels() => (long)Js(
            "const c = document.getElementById('boundary'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;" +
            "for (let i = 0; i < d.length; i += 4) if ((d[i]===31&&d[i+1]===95&&d[i+2]===168) || (d[i]===217&&d[i+1]===95&&d[i+2]===2)) n++; return n;")!;
        Assert.True(ClassPixels() > 500, "the points are drawn before training");
        var n = By("t-n");
        n.Clear();
        n.SendKeys("200");
        n.SendKeys(Keys.Tab);
        wait.Until(_ => (long)Js("return training.points.length;")! == 200);
        Assert.StartsWith("step 0: ready", By("t-status").Text);
        // A wrapper out of range is refused with the server's message; a valid one starts a run through it.
        Assert.Contains("wrappers.accumulate must be between 1 and 16", Refused(wait, "t-accumulate", "17"));
        By("t-accumulate").Clear();
        var ema = By("t-ema");
        ema.SendKeys("0.9");
        ema.SendKeys(Keys.Tab);
        wait.Until(_ => By("t-status").Text.StartsWith("step 0: ready with ema", StringComparison.Ordinal));
        Assert.False(By("t-error").Displayed);
        TrainUntil(wait, 110);
        Assert.StartsWith("step 110:", By("t-status").Text);
        Assert.Contains("wrappers ema", By("t-status").Text);
        Assert.Contains("stopped after 110 steps", By("t-status").Text);
        Assert.InRange((long)Js("return training.history.length;")!, 2, 400);
        Assert.Null(Js("return training.history.find((h) => 'probability' in h) ?? null;"));
        Shot("playground-training");
        AssertNoConsoleErrors();
    }

    [Fact]
    public void The_swa_anneal_controls_wait_for_an_swa_lr_and_are_sent_with_it()
    {
        var wait = OpenTrainingView();
        Assert.False(By("t-swa-anneal-steps").Enabled);
        Assert.False(By("t-swa-anneal").Enabled);
        By("t-swa").SendKeys("5");
        var swaLr = By("t-swa-lr");
        swaLr.SendKeys("0.002");
        swaLr.SendKeys(Keys.Tab);
        wait.Until(_ => By("t-swa-anneal-steps").Enabled && By("t-swa-anneal").Enabled);
        // An anneal out of range is refused with the server's message; a valid one is sent with the SWA lr.
        Assert.Contains("wrappers.swaAnnealSteps must be between 0 and 100000 updates, got 100001.", Refused(wait, "t-swa-anneal-steps", "100001"));
        var steps = By("t-swa-anneal-steps");
        steps.Clear();
        steps.SendKeys("4");
        new SelectElement(By("t-swa-anneal")).SelectByText("linear");
        Assert.Equal("""{"swaStart":5,"swaLr":0.002,"swaAnnealSteps":4,"swaAnneal":"linear"}""",
            (string)Js("const w = trainWrappers(); return JSON.stringify({ swaStart: w.swaStart, swaLr: w.swaLr, swaAnnealSteps: w.swaAnnealSteps, swaAnneal: w.swaAnneal });")!);
        // The last change's run, not one an earlier edit started: once no change is pending, Reset starts it afresh.
        wait.Until(_ => (long)Js("return prepareTimer;")! == 0);
        By("t-reset").Click();
        wait.Until(_ => By("t-status").Text.StartsWith("step 0: ready with swa", StringComparison.Ordinal));
        Assert.False(By("t-error").Displayed);
        // lr 0.01 to 0.002 from update 6: a linear anneal over 4 updates is 0.008 at update 6 (cosine: 0.00883; linear over 10: 0.0092).
        TrainUntil(wait, 6);
        Assert.StartsWith("step 6: lr 0.008, loss", By("t-status").Text);
        TrainUntil(wait, 12);
        Assert.StartsWith("step 12: lr 0.002, loss", By("t-status").Text);
        Shot("playground-swa-anneal");
        // Without an SWA lr the anneal is neither enabled nor sent.
        swaLr.Clear();
        swaLr.SendKeys(Keys.Tab);
        wait.Until(_ => !By("t-swa-anneal-steps").Enabled && !By("t-swa-anneal").Enabled);
        Assert.Equal("{}", (string)Js("const w = trainWrappers(); return JSON.stringify({ swaAnnealSteps: w.swaAnnealSteps, swaAnneal: w.swaAnneal });")!);
        wait.Until(_ => By("t-status").Text.StartsWith("step 0: ready with swa", StringComparison.Ordinal));
        Assert.False(By("t-error").Displayed);
        AssertNoConsoleErrors();
    }

    [Fact]
    public void The_page_fits_a_narrow_screen_and_the_map_takes_arrow_keys()
    {
        _browser.Manage().Window.Size = new System.Drawing.Size(400, 900);
        _browser.Navigate().GoToUrl(_url);
        var wait = new WebDriverWait(_browser, TimeSpan.FromSeconds(30));
        wait.Until(_ => By("status").Text.Contains("updates"));
        Assert.True((long)Js("return document.documentElement.scrollWidth;")! <= (long)Js("return window.innerWidth;")!, "no sideways scrolling at 400 px");
        Thread.Sleep(1800);
        Shot("playground-narrow");
        string before = By("start-x").GetAttribute("value")!;
        By("surface").SendKeys(Keys.ArrowRight);
        Assert.NotEqual(before, By("start-x").GetAttribute("value"));
        wait.Until(_ => JsonDocument.Parse((string)Js("return decodeURIComponent(location.hash.slice(1));")!).RootElement.GetProperty("x").GetDouble() > double.Parse(before, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Choosing_a_surface_keeps_the_start_inside_its_view()
    {
        _browser.Navigate().GoToUrl(_url);
        var wait = new WebDriverWait(_browser, TimeSpan.FromSeconds(30));
        wait.Until(_ => By("status").Text.Contains("updates"));
        Assert.Equal("2", By("start-y").GetAttribute("value"));
        new SelectElement(By("landscape")).SelectByText("ravine"); // its view is y in [-1.5, 1.5]
        wait.Until(_ => JsonDocument.Parse((string)Js("return decodeURIComponent(location.hash.slice(1));")!).RootElement.GetProperty("f").GetString() == "ravine");
        double y = double.Parse(By("start-y").GetAttribute("value")!, CultureInfo.InvariantCulture);
        Assert.InRange(y, -1.5, 1.5);
        Assert.Equal("-1.5", By("start-x").GetAttribute("value"));
        wait.Until(_ => By("status").Text.Contains("updates") && (string)Js("return result.function;")! == "ravine");
        AssertNoConsoleErrors();
    }

    [Fact]
    public void A_diverging_run_is_clipped_and_marked_instead_of_setting_the_loss_scale()
    {
        string hash = JsonSerializer.Serialize(new { f = "rosenbrock", x = -1.5, y = 2, n = 200, opts = new object[] { new { o = "sgd", h = new { lr = 0.01 } }, new { o = "adam", h = new { lr = 0.05 } } } });
        _browser.Navigate().GoToUrl(_url + "#" + Uri.EscapeDataString(hash));
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("status").Text.Contains("updates"));
        Thread.Sleep(1800);
        Assert.Contains("sgd lr 0.01 (diverged at update", By("legend").Text);
        // The scale is set by where the runs start (a decade above it), not by the diverging run.
        double top = Convert.ToDouble(Js("return lossScale().hi;"), CultureInfo.InvariantCulture);
        double start = Convert.ToDouble(Js("return Math.log10(result.runs[1].path[0][2]);"), CultureInfo.InvariantCulture);
        Assert.Equal(start + 1, top, 9);
        Assert.True(Convert.ToDouble(Js("return Math.max(...result.runs[0].path.map((p) => Math.log10(p[2])));"), CultureInfo.InvariantCulture) > top + 3);
        Assert.True((bool)Js("return lossScale().log;")!);
        Shot("playground-diverged");
        AssertNoConsoleErrors();
    }
}
