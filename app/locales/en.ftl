app-name = LWAMS
app-tagline = IT operations automation

menu-flow = Flow
menu-report = Report
menu-resource = Resource
menu-system = System

fn-flow_editor = Editor
fn-flow_monitor = Monitor
fn-flow_tasks = Tasks
fn-flow_schedules = Schedules
fn-report_templates = Templates
fn-report_data = Report data
fn-resource_scripts = Scripts
fn-resource_data_sources = Data sources
fn-resource_forms = Form templates
fn-resource_globals = Global variables
fn-system_company = Company
fn-system_users = Users & groups
fn-system_hosts = Hosts
fn-system_holidays = Holidays
fn-system_languages = Languages

level-none = None
level-view = View
level-manage = Manage

login-title = Sign in
login-company = Company code
login-company-hint = Leave empty if there is only one company
login-login = Login name
login-password = Password
login-submit = Sign in
login-failed = Wrong company code, login name or password.
login-locked = Too many failed sign-ins. Try again later.

nav-menu = Menu
nav-logout = Sign out
nav-change-password = Change password
nav-language = Language
nav-home = Home

common-loading = Loading…
common-save = Save
common-saved = Saved.
common-cancel = Cancel
common-delete = Delete
common-edit = Edit
common-new = New
common-search = Search
common-yes = Yes
common-no = No
common-actions = Actions
common-name = Name
common-description = Description
common-confirm-delete = Delete this item? This cannot be undone.
common-close = Close
common-none-yet = None yet.
common-total = { $count } in all
common-error = Error: { $message }
common-read-only = You can view this page but not change it.

home-welcome = Welcome, { $name }
home-intro = Pick a page from the menu. You see the functions your groups allow.

coming-title = Coming soon
coming-body = This page is part of a later release of LWAMS. Nothing here works yet, and nothing pretends to.

company-code = Company code
company-name = Company name
company-wechat-appid = WeChat appId
company-wechat-secret = WeChat appSecret
company-wechat-secret-set = A secret is stored. Type a new one to replace it.
company-wechat-secret-unset = No secret stored.
company-wechat-secret-clear = Clear the stored secret

users-tab-users = Users
users-tab-groups = Groups
users-login = Login name
users-display-name = Display name
users-email = E-mail
users-phone = Phone
users-mobile = Mobile
users-enabled = Enabled
users-agent = May log in to Sub Manager
users-wechat = WeChat
users-wechat-bound = Activated
users-wechat-unbound = Not bound
users-groups = Groups
users-password = Password
users-new-password = New password (leave empty to keep)
users-new = New user
users-edit = Edit user
users-disable = Disable
users-enable = Enable

groups-new = New group
groups-edit = Edit group
groups-permissions = Permissions
groups-members = Members
groups-associate = Associate users
groups-associate-help = Tick the users to add to this group.
groups-function = Function

password-current = Current password
password-new = New password
password-repeat = Repeat new password
password-mismatch = The two new passwords differ.
password-changed = Password changed. Your other sessions were signed out.

notfound-title = Page not found
notfound-body = There is no page at this address.
forbidden-body = Your groups do not give you this page.

monitor-search = Flow key
monitor-all-statuses = All statuses
monitor-flow = Flow
monitor-status = Status
monitor-start-way = Started by
monitor-started = Started
monitor-duration = Duration
monitor-node = Node
monitor-output = Output / error

status-running = Running
status-paused = Paused
status-failed = Failed
status-completed = Completed
status-terminated = Terminated
status-skipped = Skipped
common-previous = Previous page
common-next = Next page

editor-import = Import .bpmn
editor-deployed = Deployed:
editor-refused = The file was not deployed:
editor-key = Key
editor-version = Version
editor-deployed-at = Deployed at

editor-start-now = Start now
editor-open-monitor = Monitor
monitor-live = Live
monitor-reconnecting = Reconnecting…
monitor-pause = Pause
monitor-resume = Resume
monitor-terminate = Terminate
monitor-retry = Retry
monitor-skip = Skip
monitor-complete = Complete task
monitor-pick-node = Click a node in the diagram to see its inputs, output and log.
monitor-exit-code = Exit code
monitor-history = Who did what
monitor-all-runs = Every run
monitor-legend-completed = succeeded
monitor-legend-active = running
monitor-legend-paused = paused / retried / skipped
monitor-legend-failed = failed / terminated
status-not-reached = Not reached
status-interrupted = Interrupted
status-cancelled = Cancelled
start-way-manual = manual
start-way-api = API
start-way-call = call activity
start-way-timer = timer
start-way-schedule = schedule
action-start = started
action-pause = paused
action-resume = resumed
action-terminate = terminated
action-retry = retried
action-skip = skipped
action-complete = completed the task
