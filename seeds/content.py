"""
The words of the seed data: goal themes with their tactics, vision and
reflection phrases, and coaching conversations.

Faker fills in the personal parts (names, employers, cities, dates); the
themes keep goals, tasks and chats plausible for a 12 Week Year user.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TacticTemplate:
    """A task: its title and the range of its default weekly quota."""

    title: str
    quota: tuple[int, int]


@dataclass(frozen=True)
class GoalTemplate:
    """A goal theme: ``{company}``, ``{city}``, ``{number}`` are filled in."""

    title: str
    description: str
    tactics: tuple[TacticTemplate, ...]


def _tactics(*items: tuple[str, int, int]) -> tuple[TacticTemplate, ...]:
    return tuple(TacticTemplate(title, (low, high)) for title, low, high in items)


PROFESSIONAL_GOALS: tuple[GoalTemplate, ...] = (
    GoalTemplate(
        "Ship the self-serve onboarding at {company}",
        "New customers reach their first report without talking to support.",
        _tactics(
            ("Pair with design on the onboarding flow", 1, 2),
            ("Write and review onboarding code", 3, 5),
            ("Interview a new customer", 1, 2),
            ("Review the activation funnel numbers", 1, 1),
        ),
    ),
    GoalTemplate(
        "Close {number} new enterprise accounts",
        "Grow the pipeline from referrals and make every demo count.",
        _tactics(
            ("Book discovery calls", 3, 6),
            ("Send tailored follow-ups within 24 hours", 3, 5),
            ("Update the pipeline in the CRM", 1, 2),
            ("Ask a happy customer for a referral", 1, 2),
        ),
    ),
    GoalTemplate(
        "Get promoted to senior engineer at {company}",
        "Lead a cross-team project end to end and mentor two juniors.",
        _tactics(
            ("Write a design document", 1, 1),
            ("Mentoring session with a junior engineer", 1, 2),
            ("Deep-work block on the migration project", 3, 5),
            ("Present progress in the team demo", 1, 1),
        ),
    ),
    GoalTemplate(
        "Publish the first draft of my book",
        "Finish {number} chapters and send the manuscript to two readers.",
        _tactics(
            ("Write 750 words before breakfast", 4, 6),
            ("Outline the next chapter", 1, 1),
            ("Edit yesterday's pages", 2, 3),
            ("Read a chapter of a book in the same genre", 2, 3),
        ),
    ),
    GoalTemplate(
        "Launch the consulting practice in {city}",
        "Sign the first three paying clients and have a steady lead source.",
        _tactics(
            ("Reach out to former colleagues", 3, 5),
            ("Publish a LinkedIn article", 1, 1),
            ("Coffee meeting with a potential client", 1, 3),
            ("Refine the service offer page", 1, 1),
        ),
    ),
    GoalTemplate(
        "Pass the AWS Solutions Architect exam",
        "Study steadily and pass on the first attempt.",
        _tactics(
            ("Study session of 45 minutes", 4, 6),
            ("Do a full practice exam", 1, 1),
            ("Build a lab from the course", 1, 2),
            ("Review flashcards", 3, 5),
        ),
    ),
    GoalTemplate(
        "Cut the support backlog at {company} in half",
        "Fewer tickets through better docs and faster triage.",
        _tactics(
            ("Triage the support queue", 4, 5),
            ("Write a help-center article", 1, 2),
            ("Fix a top-ten ticket root cause", 1, 2),
            ("Review the weekly support metrics", 1, 1),
        ),
    ),
    GoalTemplate(
        "Grow the newsletter to {number} subscribers",
        "Publish every week and find two partners for cross-promotion.",
        _tactics(
            ("Write the weekly issue", 1, 1),
            ("Pitch a cross-promotion partner", 1, 2),
            ("Share an excerpt on social media", 3, 5),
            ("Answer reader replies", 2, 3),
        ),
    ),
)

PERSONAL_GOALS: tuple[GoalTemplate, ...] = (
    GoalTemplate(
        "Run a half marathon in {city}",
        "Finish under two hours without injury.",
        _tactics(
            ("Easy run of 5 km", 2, 3),
            ("Long run on Sunday", 1, 1),
            ("Strength and mobility session", 1, 2),
            ("Stretch for 10 minutes", 3, 6),
        ),
    ),
    GoalTemplate(
        "Lose 6 kg and keep it off",
        "Eat mostly home-cooked food and move every day.",
        _tactics(
            ("Cook dinner at home", 4, 6),
            ("Walk 8,000 steps", 5, 7),
            ("Gym workout", 2, 3),
            ("Log meals in the app", 5, 7),
        ),
    ),
    GoalTemplate(
        "Hold a 20-minute conversation in Spanish",
        "Speak with {name} on a video call without switching to English.",
        _tactics(
            ("Duolingo lesson", 5, 7),
            ("Conversation class", 1, 2),
            ("Listen to a Spanish podcast", 2, 4),
            ("Write a short diary entry in Spanish", 1, 3),
        ),
    ),
    GoalTemplate(
        "Be present for the family",
        "Screens away at dinner and a real weekend with {name}.",
        _tactics(
            ("Phone-free family dinner", 3, 5),
            ("Call my parents", 1, 2),
            ("Plan a weekend outing", 1, 1),
            ("Bedtime story with the kids", 3, 5),
        ),
    ),
    GoalTemplate(
        "Save {number} dollars for the trip to {city}",
        "Spend on purpose and put the difference aside every Friday.",
        _tactics(
            ("Transfer to the travel savings account", 1, 1),
            ("Review spending in the budget app", 1, 2),
            ("Bring lunch from home", 3, 5),
            ("Sell something I no longer use", 1, 1),
        ),
    ),
    GoalTemplate(
        "Sleep seven hours a night",
        "Lights out by 22:30 and wake up without the snooze button.",
        _tactics(
            ("In bed by 22:30", 5, 7),
            ("No caffeine after 14:00", 5, 7),
            ("Read fiction instead of scrolling", 3, 5),
            ("Morning walk in daylight", 3, 5),
        ),
    ),
    GoalTemplate(
        "Finish the garden renovation",
        "Raised beds built, planted and watered by a drip system.",
        _tactics(
            ("Work in the garden for an hour", 2, 4),
            ("Order materials for the next step", 1, 1),
            ("Watch a tutorial on drip irrigation", 1, 1),
        ),
    ),
    GoalTemplate(
        "Play the piano piece for {name}'s birthday",
        "Learn the whole piece by heart and play it without stopping.",
        _tactics(
            ("Practice piano for 30 minutes", 4, 6),
            ("Lesson with the teacher", 1, 1),
            ("Record myself and listen back", 1, 2),
        ),
    ),
)

VISION_TITLES: tuple[str, ...] = (
    "A life of calm focus",
    "Build work I am proud of",
    "Healthy, free and close to the people I love",
    "Independent by forty",
    "Craft, health and family",
    "Grow every year",
    "Do fewer things, better",
)

VISION_STATEMENTS: tuple[str, ...] = (
    "In three years I work as a {job} on problems I care about, live in {city} "
    "and keep my evenings for family and friends.",
    "I run my own business, I am fit enough to run a marathon, and I take "
    "two real holidays a year with {name}.",
    "I am known as the {job} who ships reliable work, I mentor others, and I "
    "have paid off the apartment in {city}.",
    "I wake up rested, spend my best hours on deep work, and never miss the "
    "important moments with my family.",
    "I have the savings to choose my projects, I speak two languages fluently "
    "and I travel to {city} every summer.",
)

REFLECTIONS: tuple[str, ...] = (
    "Good week. Mornings worked, evenings did not.",
    "Travel for work broke the routine; back on track on Thursday.",
    "Best week so far: planned on Sunday and kept the calendar blocks.",
    "Sick for two days, did what I could.",
    "Too many meetings. Next week I protect two mornings for deep work.",
    "The long run felt easy for the first time.",
    "Lost focus mid-week; the weekly review helped me reset.",
    "Kids' school holiday, so the personal goal got more time than work.",
    "Hit every tactic except the one I keep postponing.",
    "Solid, boring, consistent. That is the point.",
)

ITEM_NOTES: tuple[str, ...] = (
    "Moved to the weekend.",
    "Did a shorter version.",
    "Paired with a colleague.",
    "Skipped: travelling.",
    "Felt great afterwards.",
    "Needs a better time slot.",
)

CHAT_TITLES: tuple[str, ...] = (
    "Week {week} check-in",
    "Planning week {week}",
    "Stuck on {goal}",
    "Midpoint review",
    "Setting up the next cycle",
    "Weekly review",
)

# A conversation: (user, assistant) turns. Placeholders: {name}, {goal},
# {task}, {week}, {done}, {planned}, {score}.
CONVERSATIONS: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        (
            "Hi, can we review week {week}? I feel like I fell behind.",
            "Of course, {name}. You completed {done} of {planned} planned "
            "actions this week, an execution score of {score}%. That is close "
            "to the 85% the method aims for. What got in the way?",
        ),
        (
            "Mostly '{task}'. I keep pushing it to the end of the day.",
            "Tactics you postpone to the evening rarely happen. Could you "
            "block a fixed time for '{task}' in the morning next week?",
        ),
        (
            "Yes, I will put it before my first meeting.",
            "Great. I added it to your plan for week {week}. Let's look at "
            "how it went in our next check-in.",
        ),
    ),
    (
        (
            "I'm not sure my goal '{goal}' is realistic anymore.",
            "Let's look at the numbers before deciding. Your score over the "
            "last weeks is {score}%. Which part feels out of reach?",
        ),
        (
            "The deadline. There are only a few weeks left in the cycle.",
            "Twelve weeks is short on purpose: it creates urgency. We can "
            "keep the goal and raise the quota of '{task}' by one, or narrow "
            "the goal. Which would you prefer?",
        ),
    ),
    (
        (
            "Can you help me plan next week?",
            "Sure. For '{goal}' your tactics are already in the plan. Is "
            "there anything unusual next week, like travel or deadlines?",
        ),
        (
            "I'm travelling on Wednesday and Thursday.",
            "Then let's move two sessions of '{task}' to Monday and Friday "
            "and keep the quota. Your plan for week {week} is updated.",
        ),
        (
            "Thanks, that looks doable.",
            "You're welcome, {name}. Remember: a plan you keep beats a "
            "perfect plan you abandon.",
        ),
    ),
    (
        (
            "We're at the midpoint. Should I change anything for the second half?",
            "Good timing. Weeks 7 to 12 will be locked once you confirm them, "
            "so this is the moment to adjust quotas. You averaged {score}% "
            "so far. Anything you would drop?",
        ),
        (
            "Maybe reduce '{task}' a little, it never fits.",
            "Reducing it by one keeps the habit alive without guilt. I'll "
            "lower the quota before the lock is enforced.",
        ),
    ),
    (
        (
            "I had a great week! Finished everything.",
            "Well done, {name}! {done} of {planned} actions: {score}%. What "
            "made the difference?",
        ),
        (
            "I planned everything on Sunday evening.",
            "That weekly planning habit is the engine of the method. Keep "
            "it, and protect it when weeks get busy.",
        ),
    ),
)

SYSTEM_PROMPT = (
    "You are a supportive 12 Week Year coach. Be concise, use the user's plan "
    "and scores, and suggest one concrete next step."
)

MODELS: tuple[str, ...] = ("gpt-4o-mini", "claude-3-5-haiku", "gpt-4o")
