using Herald.Common;

namespace Herald.Campaigns;

/// <summary>What happens to a campaign (each endpoint or background step is one trigger).</summary>
public enum CampaignTrigger
{
    Edit,
    Delete,
    Submit,
    Approve,
    Reject,
    /// <summary>A run starts (the scheduler at its time, or send-now).</summary>
    Start,
    SendNow,
    Pause,
    Resume,
    Cancel,
    Reschedule,
    /// <summary>The last run finished and no further run is due (delivery engine).</summary>
    Complete,
    Fail,
    /// <summary>The campaign's endAt passed (CampaignExpiry): it completes, unsent deliveries are skipped as expired.</summary>
    Expire,
}

/// <summary>
/// The campaign lifecycle, in one place: draft -> pending_approval -> approved -> running -> completed,
/// plus rejected (back to draft with a reason), paused, cancelled and failed. Every status change of a
/// campaign or its runs is decided here; an illegal one is a <see cref="ConflictException"/> (409) that
/// names the current state. No other code compares status strings to decide what may happen.
/// </summary>
public static class CampaignStateMachine
{
    private static readonly Dictionary<(string From, CampaignTrigger Trigger), string> Transitions = new()
    {
        [(CampaignStatus.Draft, CampaignTrigger.Edit)] = CampaignStatus.Draft,
        [(CampaignStatus.Draft, CampaignTrigger.Delete)] = CampaignStatus.Draft,
        [(CampaignStatus.Draft, CampaignTrigger.Reschedule)] = CampaignStatus.Draft,
        // Submit goes to pending_approval, or straight to approved when the workspace needs no approval (see Submit).
        [(CampaignStatus.Draft, CampaignTrigger.Submit)] = CampaignStatus.PendingApproval,
        [(CampaignStatus.PendingApproval, CampaignTrigger.Approve)] = CampaignStatus.Approved,
        [(CampaignStatus.PendingApproval, CampaignTrigger.Reject)] = CampaignStatus.Draft,
        [(CampaignStatus.Approved, CampaignTrigger.Reschedule)] = CampaignStatus.Approved,
        [(CampaignStatus.Approved, CampaignTrigger.Start)] = CampaignStatus.Running,
        [(CampaignStatus.Approved, CampaignTrigger.SendNow)] = CampaignStatus.Running,
        // A recurring campaign stays running between its runs; each run start keeps it there.
        [(CampaignStatus.Running, CampaignTrigger.Start)] = CampaignStatus.Running,
        [(CampaignStatus.Running, CampaignTrigger.Pause)] = CampaignStatus.Paused,
        [(CampaignStatus.Paused, CampaignTrigger.Resume)] = CampaignStatus.Running,
        [(CampaignStatus.Running, CampaignTrigger.Complete)] = CampaignStatus.Completed,
        [(CampaignStatus.Running, CampaignTrigger.Fail)] = CampaignStatus.Failed,
        [(CampaignStatus.Approved, CampaignTrigger.Fail)] = CampaignStatus.Failed,
        [(CampaignStatus.Draft, CampaignTrigger.Cancel)] = CampaignStatus.Cancelled,
        [(CampaignStatus.PendingApproval, CampaignTrigger.Cancel)] = CampaignStatus.Cancelled,
        [(CampaignStatus.Approved, CampaignTrigger.Cancel)] = CampaignStatus.Cancelled,
        [(CampaignStatus.Running, CampaignTrigger.Cancel)] = CampaignStatus.Cancelled,
        [(CampaignStatus.Paused, CampaignTrigger.Cancel)] = CampaignStatus.Cancelled,
        [(CampaignStatus.Approved, CampaignTrigger.Expire)] = CampaignStatus.Completed,
        [(CampaignStatus.Running, CampaignTrigger.Expire)] = CampaignStatus.Completed,
        [(CampaignStatus.Paused, CampaignTrigger.Expire)] = CampaignStatus.Completed,
    };

    /// <summary>The status after <paramref name="trigger"/>, or a 409 naming <paramref name="current"/>.</summary>
    public static string Next(string current, CampaignTrigger trigger) =>
        Transitions.TryGetValue((current, trigger), out var to)
            ? to
            : throw new ConflictException($"A campaign that is {current.Replace('_', ' ')} cannot {Verb(trigger)}.", current);

    /// <summary>Submit: approval may be switched off per workspace, then the campaign is approved at once.</summary>
    public static string Submit(string current, bool approvalRequired)
    {
        var to = Next(current, CampaignTrigger.Submit);
        return approvalRequired ? to : Next(to, CampaignTrigger.Approve);
    }

    public static bool Can(string current, CampaignTrigger trigger) => Transitions.ContainsKey((current, trigger));

    /// <summary>Statuses from which <paramref name="trigger"/> is allowed (for set-based compare-and-set updates).</summary>
    public static string[] From(CampaignTrigger trigger) =>
        Transitions.Keys.Where(k => k.Trigger == trigger).Select(k => k.From).Distinct().ToArray();

    /// <summary>Statuses in which a campaign still has work ahead (shown as active, scheduled runs kept).</summary>
    public static readonly string[] Active = [CampaignStatus.Approved, CampaignStatus.Running, CampaignStatus.Paused];

    private static string Verb(CampaignTrigger t) => t switch
    {
        CampaignTrigger.Edit => "be edited (only drafts can)",
        CampaignTrigger.Delete => "be deleted (only drafts can)",
        CampaignTrigger.Submit => "be submitted (only drafts can)",
        CampaignTrigger.Approve => "be approved (only campaigns pending approval can)",
        CampaignTrigger.Reject => "be rejected (only campaigns pending approval can)",
        CampaignTrigger.Start or CampaignTrigger.SendNow => "be sent (only approved campaigns can)",
        CampaignTrigger.Pause => "be paused (only running campaigns can)",
        CampaignTrigger.Resume => "be resumed (only paused campaigns can)",
        CampaignTrigger.Cancel => "be cancelled",
        CampaignTrigger.Reschedule => "be rescheduled (only drafts and approved campaigns can)",
        CampaignTrigger.Complete => "complete",
        CampaignTrigger.Expire => "expire (only approved, running or paused campaigns can)",
        _ => "fail",
    };

    /// <summary>
    /// Run statuses follow the campaign: the delivery workers only claim deliveries of runs that are
    /// running, so pausing or cancelling the campaign's runs is what stops sending.
    /// </summary>
    public static class Runs
    {
        /// <summary>Runs a pause holds: scheduled runs wait, started ones stop sending.</summary>
        public static readonly string[] Pausable = [RunStatus.Scheduled, RunStatus.Starting, RunStatus.Running];
        /// <summary>Runs a cancel ends.</summary>
        public static readonly string[] Cancellable = [RunStatus.Scheduled, RunStatus.Starting, RunStatus.Running, RunStatus.Paused];
        /// <summary>Runs a reschedule replaces (not started yet).</summary>
        public static readonly string[] Replaceable = [RunStatus.Scheduled];

        /// <summary>A paused run resumes where it was: running when it had started, else scheduled (late = misfire, starts at once).</summary>
        public static string Resumed(bool started) => started ? RunStatus.Running : RunStatus.Scheduled;
    }
}
