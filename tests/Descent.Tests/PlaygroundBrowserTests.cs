using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Descent.Playground;
using Microsoft.AspNetCore.Builder;
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
            "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1300,1000", $"--user-data-dir={Directory.CreateTempSubdirectory("descent-chromium").FullName}");
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

    private void WaitForRun(string previous)
    {
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(_ => By("status").Text.Contains("updates") && By("status").Text != previous || By("results").Text != previous);
        Thread.Sleep(1800); // let the 1.5 s path animation finish before reading or screenshotting
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
        var canvasColour = (string?)((IJavaScriptExecutor)_browser).ExecuteScript(
            "const c = document.getElementById('surface'); const v = surface.view; const p = result.runs[0].path.at(-1);" +
            "const x = Math.round((p[0]-v[0])/(v[1]-v[0])*c.width), y = Math.round((v[3]-p[1])/(v[3]-v[2])*c.height);" +
            "const d = c.getContext('2d').getImageData(Math.min(x, c.width-1), Math.min(y, c.height-1), 1, 1).data; return d[0]+','+d[1]+','+d[2];");
        Assert.Equal("31,119,180", canvasColour); // #1f77b4, the first optimizer's colour

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
        wait.Until(_ => By("t-status").Text == "reset");
        var errors = _browser.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level == LogLevel.Severe).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.Message)));
    }
}
